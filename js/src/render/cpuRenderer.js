// Point renderer on the CPU: every cell is splatted into an ImageData that is put on a 2D
// canvas. Used when WebGL runs in software (SwiftShader, llvmpipe: machines without a GPU,
// remote desktops, VMs, headless browsers) or is missing (render/choose.js). There one WebGL
// draw of 1M points costs 0.6–0.9 s, whatever the shader, because software GL pays a large
// fixed cost per vertex; this loop draws the same million in 60–150 ms (2-core VM, 1.5 px points), and
// needs no context creation or shader compile before the first frame.
//
// It draws what the WebGL renderer draws (shaders.js), pixel for pixel up to rounding: the
// same point squares (pixels whose centers lie inside the point's square), the same disc
// with a soft edge of about one device pixel, the same "source over" blending onto the
// background, the depth test in 3D, and the same two passes (every cell in draw order, then
// the emphasized cells on top, highlighted ones 1.5× larger). Inputs are kept by reference
// (nothing to upload), so a recolor costs one pass over the cells.
//
// While the camera moves (a drag, the wheel, fly keys: requestRender(true)), a dataset of more
// than 1.5 × `motionPoints` cells whose full frames are slow (> SLOW_FRAME_MS) is drawn from a
// fixed pseudo-random sample of about `motionPoints` cells, in the same order and with the same
// rules; emphasized (selected, highlighted) cells are all drawn unless they are many. At 1M
// cells a full frame takes 60–150 ms and panning gets a frame about twice as often
// (docs/benchmarks.md). The full frame follows MOTION_SETTLE_MS after the last motion frame.
// `?motion_points=N` in the page URL sets the sample size (and then samples whatever a full
// frame costs), `0` draws every frame in full.
import { RendererBase } from "./base.js";
import { MISSING, Q, cellHash } from "./geometry.js";

/** Cells drawn per frame while the camera moves (the default sample size). */
export const MOTION_POINTS = 250_000;
/** With the default sample size, motion frames are sampled only when a full frame took longer. */
export const SLOW_FRAME_MS = 30;
/** The full frame comes this long after the last motion frame. */
export const MOTION_SETTLE_MS = 120;
// the 1D jitter's hash (geometry.js) with another seed, so the sample does not follow the jitter
const SAMPLE_SEED = 0x2545f491;

function smoothstep(e0, e1, x) {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
}

// Coverage of a point's pixel by its squared distance from the center (in radii²), tabulated
// in COVER_STEPS steps: the disc with a soft edge about one device pixel wide, as FRAG draws
// it (the edge's width follows the base size, also for the 1.5× highlighted points).
const COVER_STEPS = 1024;
const coverTables = new Map();
function coverageTable(base) {
  let table = coverTables.get(base);
  if (!table) {
    const e0 = 1 - 2 / Math.max(1, base);
    table = new Float32Array(COVER_STEPS + 1);
    for (let k = 0; k <= COVER_STEPS; k++) table[k] = 1 - smoothstep(e0, 1, Math.sqrt((k + 0.5) / COVER_STEPS));
    if (coverTables.size > 16) coverTables.clear();
    coverTables.set(base, table);
  }
  return table;
}

/**
 * Per palette entry, the color as drawn: packed opaque RGBA (little-endian, as an ImageData's
 * Uint32 view reads it), its alpha after the opacity, and the same for cells faded behind a
 * selection (mixed 80 % toward the background, alpha × 0.6 — shaders.js).
 */
function drawnPalette(rgba, opacity, bg) {
  const count = Math.max(1, rgba.length >> 2);
  const out = {
    count,
    rgb: new Uint8Array(count * 3), alpha: new Float32Array(count), packed: new Uint32Array(count),
    dimRgb: new Uint8Array(count * 3), dimAlpha: new Float32Array(count), dimPacked: new Uint32Array(count),
  };
  for (let c = 0; c < count; c++) {
    const a = ((rgba[4 * c + 3] ?? 255) / 255) * opacity;
    out.alpha[c] = a;
    out.dimAlpha[c] = a * 0.6;
    let packed = 0xff000000, dimPacked = 0xff000000;
    for (let k = 0; k < 3; k++) {
      const v = rgba[4 * c + k] ?? 128;
      const d = v + (bg[k] - v) * 0.8;
      out.rgb[3 * c + k] = v;
      out.dimRgb[3 * c + k] = Math.round(d);
      packed |= v << (8 * k);
      dimPacked |= Math.round(d) << (8 * k);
    }
    out.packed[c] = packed >>> 0;
    out.dimPacked[c] = dimPacked >>> 0;
  }
  return out;
}

/**
 * About `budget` of `n` cells, the same ones every time (a hash of the index, not a stride: a
 * stride could pick one batch of data stored interleaved): `keep[i]` = 1 for them, and
 * `lists` caches each draw list (the order, the emphasized cells) cut down to them.
 */
function motionSample(n, budget) {
  const keep = new Uint8Array(n);
  const p = budget / n;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (cellHash(i, SAMPLE_SEED) < p) {
      keep[i] = 1;
      count++;
    }
  }
  return { n, budget, keep, count, lists: new WeakMap() };
}

/**
 * `list` (cell indices; null: every cell in index order) cut down to the sample's cells,
 * cached per list (the app replaces its order and emphasis arrays, never edits them).
 */
function sampledList(sample, list) {
  const key = list || sample;
  let out = sample.lists.get(key);
  if (out) return out;
  const keep = sample.keep;
  const n = list ? list.length : sample.n;
  const all = new Uint32Array(n);
  let m = 0;
  for (let k = 0; k < n; k++) {
    const i = list ? list[k] : k;
    if (keep[i]) all[m++] = i;
  }
  out = all.slice(0, m);
  sample.lists.set(key, out);
  return out;
}

export class CpuRenderer extends RendererBase {
  /**
   * `motionPoints`: cells per frame while the camera moves (0: all of them); when given, motion
   * frames are sampled however fast a full frame is (the default samples only slow ones).
   */
  constructor(canvas, { motionPoints } = {}) {
    super(canvas, "cpu");
    this.motionPoints = motionPoints ?? MOTION_POINTS;
    this.motionPointsAsked = motionPoints != null;
    this.fullFrameMs = 0; // how long the latest full frame took to draw
    this.sample = null;
    this.settleTimer = null;
    // Default attributes: with `alpha: false` or `willReadFrequently` the first putImageData
    // measured 60–140 ms in Chromium, against ~5 ms (every pixel is written opaque anyway).
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("This browser offers neither WebGL2 nor a 2D canvas to draw on.");
    this.ctx = ctx;
    this.colorIndex = null;
    this.rgba = new Uint8Array([128, 128, 128, 255]);
    this.flags = null;
    this.emphasis = null;
    this.order = null;
    this.surface = null;
  }

  setGeometry(geom, n) {
    this.geom = geom;
    this.n = n;
    this.requestRender();
  }

  /** Per-cell palette indices (Uint16Array / Uint32Array), or null: every cell takes entry 0. */
  setColorIndex(index) {
    this.colorIndex = index;
    this.requestRender();
  }

  /** Palette: RGBA bytes, 4 per entry. */
  setPalette(rgba) {
    this.rgba = rgba;
    this.requestRender();
  }

  /** `flags` Uint8Array per cell (1 hidden, 2 selected, 4 highlighted) or null; `emphasis` the cells drawn again on top. */
  setFlags(flags, emphasis) {
    if (emphasis && this.sample) this.sample.lists.delete(emphasis);
    this.flags = flags;
    this.emphasis = emphasis && emphasis.length ? emphasis : null;
    this.requestRender();
  }

  /** Draw order of pass 1 (Uint32Array of all cells), or null for index order. */
  setOrder(order) {
    if (order && this.sample) this.sample.lists.delete(order); // (in case it was edited in place)
    this.order = order;
    this.requestRender();
  }

  /** The pixel buffer (and, in 3D, depth buffer) for the canvas' current size. */
  surfaceFor(W, H, is3d) {
    let s = this.surface;
    if (!s || s.W !== W || s.H !== H) {
      const image = new ImageData(W, H);
      s = this.surface = { W, H, image, pixels: new Uint32Array(image.data.buffer), depth: null };
    }
    if (is3d && !s.depth) s.depth = new Float32Array(W * H);
    return s;
  }

  /** The sample a motion frame draws now, or null when it should draw every cell. */
  currentMotionSample() {
    const n = this.n, budget = this.motionPoints;
    if (!(budget > 0) || n <= budget * 1.5) return null; // (a sample of 2/3 or more saves little)
    if (!this.motionPointsAsked && this.fullFrameMs <= SLOW_FRAME_MS) return null;
    if (!this.sample || this.sample.n !== n || this.sample.budget !== budget) this.sample = motionSample(n, budget);
    return this.sample;
  }

  draw({ motion = false } = {}) {
    clearTimeout(this.settleTimer);
    this.settleTimer = null;
    const t0 = performance.now();
    const W = this.canvas.width, H = this.canvas.height;
    const p = this.params;
    const bg = p.bg.map((v) => Math.round(v * 255));
    const ready = this.geom && this.n && this.camera;
    if (!ready) {
      // nothing to splat yet: a plain fill, no full-size image to move
      this.ctx.fillStyle = `rgb(${bg[0]}, ${bg[1]}, ${bg[2]})`;
      this.ctx.fillRect(0, 0, W, H);
      return;
    }
    if (this.drawVolume()) return;
    const is3d = this.geom.dim === 3;
    const s = this.surfaceFor(W, H, is3d);
    s.pixels.fill((0xff000000 | (bg[2] << 16) | (bg[1] << 8) | bg[0]) >>> 0);
    if (is3d) s.depth.fill(1);
    const pal = drawnPalette(this.rgba, p.opacity, bg);
    const sample = motion ? this.currentMotionSample() : null;
    const order = sample ? sampledList(sample, this.order) : this.order;
    this.pass(s, pal, order, order ? order.length : this.n, false, is3d, sample ? this.gathered(order) : null);
    if (this.emphasis) {
      // a few selected or highlighted cells stay whole (someone panning to find them)
      const few = this.emphasis.length <= this.motionPoints / 2;
      const emphasis = sample && !few ? sampledList(sample, this.emphasis) : this.emphasis;
      this.pass(s, pal, emphasis, emphasis.length, true, is3d);
    }
    this.ctx.putImageData(s.image, 0, 0);
    if (sample) {
      // a sampled frame is followed by the full one once the camera rests
      this.settleTimer = setTimeout(() => this.requestRender(), MOTION_SETTLE_MS);
    } else {
      this.fullFrameMs = performance.now() - t0;
    }
    this.frameDrawn(sample ? sample.count : this.n, !!sample);
  }

  /**
   * Splat `count` cells (`list[k]`, or k itself without a list). `emphasisPass`: the second
   * pass (highlighted cells 1.5× larger; in 3D drawn over everything, like depthFunc ALWAYS).
   */
  /**
   * The motion sample's coordinates and palette indices copied next to each other in draw
   * order (`list`), made once per list, geometry and colors: past a few million cells the
   * sample's cells lie far apart in the per-cell arrays, and reading them there cost a motion
   * frame ~3× its splatting at 10M cells (cache misses).
   */
  gathered(list) {
    const geom = this.geom, ci = this.colorIndex, g = this.gather;
    if (g && g.list === list && g.geom === geom && g.ci === ci) return g;
    const gd = geom.gpuDim, pos = geom.positions, m = list.length;
    const gpos = new Uint16Array(m * gd), gci = ci ? new ci.constructor(m) : null;
    for (let k = 0; k < m; k++) {
      const i = list[k];
      for (let a = 0; a < gd; a++) gpos[k * gd + a] = pos[i * gd + a];
      if (gci) gci[k] = ci[i];
    }
    return (this.gather = { list, geom, ci, pos: gpos, colors: gci });
  }

  pass(s, pal, list, count, emphasisPass, is3d, gathered = null) {
    const { W, H, pixels, depth } = s;
    const geom = this.geom;
    const pos = gathered ? gathered.pos : geom.positions;
    const gd = geom.gpuDim;
    const M = this.camera.matrix;
    // clip = M · (u · scale / Q + offset, 1): one affine map from the stored u16 values
    const k0 = geom.scale[0] / Q, k1 = geom.scale[1] / Q, k2 = gd === 3 ? geom.scale[2] / Q : 0;
    const o = geom.offset;
    const row = (r) => [M[r] * k0, M[4 + r] * k1, M[8 + r] * k2, M[r] * o[0] + M[4 + r] * o[1] + M[8 + r] * o[2] + M[12 + r]];
    const [x0, x1, x2, x3] = row(0), [y0, y1, y2, y3] = row(1), [z0, z1, z2, z3] = row(2), [w0, w1, w2, w3] = row(3);
    const hw = W / 2, hh = H / 2;
    // 2D views are orthographic: clip w is 1 for every cell, no division needed
    const affine = w0 === 0 && w1 === 0 && w2 === 0 && w3 === 1;
    const p = this.params;
    // GL clamps the rasterized point size (after the 1.5× of highlighted cells) to ≥ 1 px;
    // the soft edge's width follows the clamped base size (FRAG: 2 / max(1, size · dpr))
    const base = p.size * p.dpr;
    const cover = coverageTable(Math.max(1, base));
    const half = Math.max(1, base) / 2, halfEmph = Math.max(1, base * 1.5) / 2;
    const ci = this.colorIndex, flags = this.flags;
    const dimOthers = !!p.dimOthers;
    const { count: nPal, rgb, alpha, packed, dimRgb, dimAlpha, dimPacked } = pal;
    const testDepth = is3d && !emphasisPass;
    for (let k = 0; k < count; k++) {
      const i = list ? list[k] : k;
      const f = flags ? flags[i] : 0;
      if (f & 1) continue;
      const b = (gathered ? k : i) * gd;
      const u0 = pos[b], u1 = pos[b + 1], u2 = gd === 3 ? pos[b + 2] : 0;
      if (u0 === MISSING || u1 === MISSING || u2 === MISSING) continue;
      let nx = x0 * u0 + x1 * u1 + x2 * u2 + x3;
      let ny = y0 * u0 + y1 * u1 + y2 * u2 + y3;
      let nz = z0 * u0 + z1 * u1 + z2 * u2 + z3;
      if (!affine) {
        const cw = w0 * u0 + w1 * u1 + w2 * u2 + w3;
        if (!(cw > 0)) continue;
        nx /= cw;
        ny /= cw;
        nz /= cw;
      }
      // a point whose center is outside the clip volume is not drawn at all (as in GL)
      if (nx < -1 || nx > 1 || ny < -1 || ny > 1 || nz < -1 || nz > 1) continue;
      const c = gathered && gathered.colors ? gathered.colors[k] : ci ? ci[i] : 0;
      if (c >= nPal) continue;
      const faded = dimOthers && !(f & 6);
      const a = faded ? dimAlpha[c] : alpha[c];
      if (!(a > 0)) continue;
      const h = emphasisPass && f & 4 ? halfEmph : half;
      const inv = 1 / h;
      const xw = (nx + 1) * hw, yw = (1 - ny) * hh;
      // pixels whose centers lie in [center - h, center + h)
      const px0 = Math.max(0, Math.ceil(xw - h - 0.5)), px1 = Math.min(W, Math.ceil(xw + h - 0.5));
      const py0 = Math.max(0, Math.ceil(yw - h - 0.5)), py1 = Math.min(H, Math.ceil(yw + h - 0.5));
      const zd = nz * 0.5 + 0.5;
      const c3 = 3 * c;
      const solid = faded ? dimPacked[c] : packed[c];
      const cr = faded ? dimRgb[c3] : rgb[c3], cg = faded ? dimRgb[c3 + 1] : rgb[c3 + 1], cb = faded ? dimRgb[c3 + 2] : rgb[c3 + 2];
      for (let y = py0; y < py1; y++) {
        const sy = (y + 0.5 - yw) * inv;
        const sy2 = sy * sy;
        for (let x = px0; x < px1; x++) {
          const sx = (x + 0.5 - xw) * inv;
          const r2 = sx * sx + sy2;
          if (r2 > 1) continue; // outside the disc: discarded, no depth written (FRAG)
          const q = y * W + x;
          if (is3d) {
            if (testDepth && zd > depth[q]) continue;
            depth[q] = zd;
          }
          // source-over blending in 8-bit fixed point (alpha t in 1/256ths), one read and
          // one write of the packed pixel
          const t = (a * cover[(r2 * COVER_STEPS) | 0] * 256 + 0.5) | 0;
          if (t >= 255) {
            pixels[q] = solid;
          } else if (t > 0) {
            const d = pixels[q], u = 256 - t;
            // (+128: rounded like the GPU's 8-bit blend, not truncated — truncation darkens
            // overlapping translucent points a level per blend)
            const r = (cr * t + (d & 255) * u + 128) >> 8;
            const g = (cg * t + ((d >>> 8) & 255) * u + 128) >> 8;
            const bl = (cb * t + ((d >>> 16) & 255) * u + 128) >> 8;
            pixels[q] = 0xff000000 | (bl << 16) | (g << 8) | r;
          }
        }
      }
    }
  }
}
