// The smoke mode on the CPU renderer: the same emission–absorption march as the GPU shader
// (smoke.js), per pixel of an image about CPU_PIXELS large that is then scaled up to the
// canvas with smoothing (a cloud has no sharp edges to lose), on a coarser grid.
import { mat4 } from "gl-matrix";
import { unproject, ABSORB } from "./volume.js";

/** Rays per CPU frame (the reduced image's pixel count). */
export const CPU_PIXELS = 60000;
/** Steps per ray. */
export const CPU_STEPS = 64;

let scratch = null;

/** March `vol` ({G, rgba}) in `box` and draw it on the CpuRenderer `r`'s 2D canvas. */
export function marchCpu(r, vol, box, opts, mono) {
  const W = r.canvas.width, H = r.canvas.height;
  const f = Math.max(1, Math.sqrt((W * H) / CPU_PIXELS));
  const w = Math.max(1, Math.round(W / f)), h = Math.max(1, Math.round(H / f));
  if (!scratch || scratch.width !== w || scratch.height !== h) {
    const c = document.createElement("canvas");
    c.width = w;
    c.height = h;
    scratch = { width: w, height: h, canvas: c, ctx: c.getContext("2d"), image: new ImageData(w, h) };
  }
  const out = scratch.image.data;
  const inv = mat4.invert(mat4.create(), r.camera.matrix);
  const { G, rgba } = vol;
  const { lo, hi } = box;
  const sz = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
  const bg = r.params.bg.map((v) => v * 255);
  const dens = Math.max(0, opts.density), thr = Math.min(0.99, Math.max(0, opts.threshold));
  const ray = new Float64Array(6);
  for (let py = 0; py < h; py++) {
    for (let px = 0; px < w; px++) {
      const o = 4 * (py * w + px);
      unproject(inv, ((px + 0.5) / w) * 2 - 1, 1 - ((py + 0.5) / h) * 2, ray);
      // slab test against the box
      let tn = 0, tf = Infinity;
      for (let a = 0; a < 3; a++) {
        const d = ray[3 + a];
        const t0 = (lo[a] - ray[a]) / d, t1 = (hi[a] - ray[a]) / d;
        tn = Math.max(tn, Math.min(t0, t1));
        tf = Math.min(tf, Math.max(t0, t1));
      }
      let cr = 0, cg = 0, cb = 0, T = 1;
      if (tf > tn) {
        const dt = (tf - tn) / CPU_STEPS;
        for (let k = 0; k < CPU_STEPS && T >= 0.01; k++) {
          const t = tn + (k + 0.5) * dt;
          // voxel coordinates (texel centres at (i + 0.5) / G, as the GPU samples)
          const vx = ((ray[0] + ray[3] * t - lo[0]) / sz[0]) * G - 0.5;
          const vy = ((ray[1] + ray[4] * t - lo[1]) / sz[1]) * G - 0.5;
          const vz = ((ray[2] + ray[5] * t - lo[2]) / sz[2]) * G - 0.5;
          const s = sample(rgba, G, vx, vy, vz);
          const d = Math.max(0, s[3] / 255 - thr) / Math.max(1e-3, 1 - thr);
          if (d <= 0) continue;
          const alpha = 1 - Math.exp(-d * dens * ABSORB * dt);
          const wgt = T * alpha;
          if (mono) {
            cr += wgt * mono[0];
            cg += wgt * mono[1];
            cb += wgt * mono[2];
          } else {
            const un = 255 / Math.max(s[3], 0.255); // colours are premultiplied (volume.js)
            cr += wgt * s[0] * un;
            cg += wgt * s[1] * un;
            cb += wgt * s[2] * un;
          }
          T *= 1 - alpha;
        }
      }
      out[o] = cr + T * bg[0];
      out[o + 1] = cg + T * bg[1];
      out[o + 2] = cb + T * bg[2];
      out[o + 3] = 255;
    }
  }
  scratch.ctx.putImageData(scratch.image, 0, 0);
  const ctx = r.ctx;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(scratch.canvas, 0, 0, W, H);
}

const S = new Float64Array(4);
/** Trilinear sample of the RGBA grid at voxel coordinates (clamped to the edge, like the GPU). */
function sample(rgba, G, x, y, z) {
  x = Math.min(G - 1, Math.max(0, x));
  y = Math.min(G - 1, Math.max(0, y));
  z = Math.min(G - 1, Math.max(0, z));
  const x0 = Math.min(G - 2, x | 0), y0 = Math.min(G - 2, y | 0), z0 = Math.min(G - 2, z | 0);
  const tx = x - x0, ty = y - y0, tz = z - z0;
  S[0] = S[1] = S[2] = S[3] = 0;
  for (let c = 0; c < 8; c++) {
    const dx = c & 1, dy = (c >> 1) & 1, dz = c >> 2;
    const w = (dx ? tx : 1 - tx) * (dy ? ty : 1 - ty) * (dz ? tz : 1 - tz);
    if (w === 0) continue;
    const v = 4 * (x0 + dx + G * (y0 + dy + G * (z0 + dz)));
    S[0] += w * rgba[v];
    S[1] += w * rgba[v + 1];
    S[2] += w * rgba[v + 2];
    S[3] += w * rgba[v + 3];
  }
  return S;
}
