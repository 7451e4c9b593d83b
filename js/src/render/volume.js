// The smoke mode's volume: cell density splatted into a G³ grid over the data's bounding box,
// with the density-weighted mean colour of the cells in each voxel. Shared by the GPU
// ray-marcher (smoke.js, a 3D texture) and the CPU one (smokeCpu.js).
//
// Each visible cell adds weight 1 to the 8 voxels around it (trilinear weights), then the grid
// is blurred twice with a [1 2 1]/4 kernel per axis (a cloud, not a voxelized point set).
// Densities are scaled so the 99.5th percentile of non-empty voxels is 1 (one very dense
// voxel does not wash out the rest), and square-rooted, so thin regions stay visible.
import { MISSING, Q } from "./geometry.js";

/**
 * `{G, rgba}`: Uint8Array G³×4, x fastest; a = density 0–255, rgb = mean colour × a / 255.
 * `positions`: u16 per axis (stride 3), `colors`: RGBA bytes per cell, `hidden`: 1 = skip.
 */
export function buildVolume(positions, n, colors, hidden, G) {
  const V = G * G * G;
  const d = new Float32Array(V), r = new Float32Array(V), g = new Float32Array(V), b = new Float32Array(V);
  // a cell at fraction t of the data box sits at texture coordinate (t + pad) / (1 + 2 pad),
  // i.e. voxel coordinate tc·G − ½ (texel centres at (k + ½) / G, as the GPU samples)
  const pad = padFraction(G);
  const s = G / (Q * (1 + 2 * pad)), o = (G * pad) / (1 + 2 * pad) - 0.5;
  for (let i = 0; i < n; i++) {
    if (hidden && hidden[i]) continue;
    const u0 = positions[3 * i], u1 = positions[3 * i + 1], u2 = positions[3 * i + 2];
    if (u0 === MISSING || u1 === MISSING || u2 === MISSING) continue;
    const fx = u0 * s + o, fy = u1 * s + o, fz = u2 * s + o;
    const x0 = Math.min(G - 2, fx | 0), y0 = Math.min(G - 2, fy | 0), z0 = Math.min(G - 2, fz | 0);
    const tx = fx - x0, ty = fy - y0, tz = fz - z0;
    const cr = colors[4 * i], cg = colors[4 * i + 1], cb = colors[4 * i + 2];
    for (let c = 0; c < 8; c++) {
      const dx = c & 1, dy = (c >> 1) & 1, dz = c >> 2;
      const w = (dx ? tx : 1 - tx) * (dy ? ty : 1 - ty) * (dz ? tz : 1 - tz);
      const v = x0 + dx + G * (y0 + dy + G * (z0 + dz));
      d[v] += w;
      r[v] += w * cr;
      g[v] += w * cg;
      b[v] += w * cb;
    }
  }
  for (const a of [d, r, g, b]) {
    blur(a, G);
    blur(a, G);
  }
  // scale: the 99.5th percentile of the non-empty voxels maps to 1
  const all = new Float32Array(V);
  let m = 0;
  for (let v = 0; v < V; v++) if (d[v] > 1e-6) all[m++] = d[v];
  const nz = all.subarray(0, m).sort();
  const top = m ? nz[Math.min(m - 1, Math.floor(0.995 * (m - 1)))] : 1;
  const rgba = new Uint8Array(V * 4);
  for (let v = 0; v < V; v++) {
    const dv = d[v];
    if (!(dv > 1e-6)) continue;
    const a = Math.sqrt(Math.min(1, dv / top));
    // colour premultiplied by the density, so interpolating toward an empty voxel fades the
    // density, not the colour toward black (the marchers divide by the density again)
    rgba[4 * v] = Math.round((r[v] / dv) * a);
    rgba[4 * v + 1] = Math.round((g[v] / dv) * a);
    rgba[4 * v + 2] = Math.round((b[v] / dv) * a);
    rgba[4 * v + 3] = Math.round(255 * a);
  }
  return { G, rgba };
}

/** One pass of a [1 2 1]/4 blur along each axis, in place. */
function blur(a, G) {
  const line = new Float32Array(G);
  const strides = [1, G, G * G];
  for (const st of strides) {
    for (let base = 0; base < G * G * G; base++) {
      // visit each line once: its start has index 0 along this axis
      if (Math.floor(base / st) % G !== 0) continue;
      for (let k = 0; k < G; k++) line[k] = a[base + k * st];
      for (let k = 0; k < G; k++) {
        const l = k > 0 ? line[k - 1] : line[k], rr = k < G - 1 ? line[k + 1] : line[k];
        a[base + k * st] = (l + 2 * line[k] + rr) / 4;
      }
    }
  }
}

/**
 * The ray through pixel (ndcX, ndcY) in world space from the inverse of the camera's matrix:
 * origin on the near plane and unit direction; writes into `out` (6 numbers).
 */
export function unproject(inv, x, y, out) {
  const p = (z) => {
    const w = inv[3] * x + inv[7] * y + inv[11] * z + inv[15];
    return [(inv[0] * x + inv[4] * y + inv[8] * z + inv[12]) / w, (inv[1] * x + inv[5] * y + inv[9] * z + inv[13]) / w, (inv[2] * x + inv[6] * y + inv[10] * z + inv[14]) / w];
  };
  const a = p(-1), b = p(1);
  const dx = b[0] - a[0], dy = b[1] - a[1], dz = b[2] - a[2];
  const l = Math.hypot(dx, dy, dz) || 1;
  out[0] = a[0]; out[1] = a[1]; out[2] = a[2];
  out[3] = dx / l; out[4] = dy / l; out[5] = dz / l;
  return out;
}

/** Margin around the data box, as a fraction of its size: 3 voxels, room for the blur. */
export function padFraction(G) {
  return 3 / Math.max(8, G - 6);
}

/** The world box a G³ grid covers: [lo, hi] per axis, the data box plus the margin. */
export function volumeBox(geom, G) {
  const lo = [0, 0, 0], hi = [0, 0, 0];
  const pad = padFraction(G);
  for (let a = 0; a < 3; a++) {
    const s = geom.scale[a] || 0.02; // a flat axis gets a small thickness
    const l = geom.scale[a] ? geom.offset[a] : -s / 2;
    lo[a] = l - pad * s;
    hi[a] = l + s + pad * s;
  }
  return { lo, hi };
}

/** Absorption per world unit at density 1 and density option 1 (both renderers). */
export const ABSORB = 10;

/**
 * Voxels per side for `n` cells: the option `asked`, but no finer than about 2.5 ∛n (a sparse
 * dataset in a fine grid shows voxel-sized blobs instead of a cloud), and at least 24.
 */
export function gridFor(asked, n) {
  return Math.max(24, Math.min(asked, Math.round(2.5 * Math.cbrt(Math.max(1, n)))));
}
