// The 1D view (SPEC: "1D is a coordinate plus jitter or a density strip"): one horizontal
// strip per category of the colour field — all cells in one strip for a continuous colour or
// none — in which a cell's vertical spread follows the density of its category along the
// axis, so each strip reads as a density (violin) outline drawn with the cells themselves.
//
// Strip k (category 0 at the top, missing values last) spans 1/K of the height; a cell sits at
// its strip's middle plus (jitter − ½) × 0.9 × the strip's height × its category's density at
// its x (smoothed 128-bin histogram, scaled to the category's own peak).
import { buildGeometry, cellHash, MISSING, Q } from "./geometry.js";

const BINS = 128;
const JITTER_SEED = 0x9e3779b9; // the plain 1D jitter's seed: same cells, same offsets
/** World height of the strips: 0.3 per strip, at most 1.6 (the x axis spans 2). */
const STRIP_WORLD = 0.3, MAX_WORLD = 1.6;

/** Strip of each cell (0..K-1) and K, for a categorical column (missing → its own last strip). */
function stripOf(n, col) {
  const strip = new Uint32Array(n);
  if (!col) return { strip, K: 1, names: ["all cells"] };
  const K0 = col.categories.length;
  let missing = false;
  for (let i = 0; i < n; i++) {
    const c = col.codes[i];
    if (c === col.missing || c >= K0) {
      strip[i] = K0;
      missing = true;
    } else strip[i] = c;
  }
  return { strip, K: K0 + (missing ? 1 : 0), names: missing ? [...col.categories, "(missing)"] : [...col.categories] };
}

/**
 * A 1D geometry (`base`, from buildGeometry with dim 1) laid out as density strips per
 * category of `col` (categorical column or null). Returns a new geometry; `strips` on it
 * gives the strips' names and their [y0, y1] world ranges (for tests and labels).
 */
export function stripGeometry(base, n, col) {
  const { strip, K, names } = stripOf(n, col);
  const pos = base.positions; // u16 (x, jitter) pairs
  const xs = new Uint16Array(n);
  for (let i = 0; i < n; i++) xs[i] = pos[2 * i];
  // per-strip density along x: histogram, smoothed with a [1 4 6 4 1] kernel twice
  let hist = new Float64Array(K * BINS);
  for (let i = 0; i < n; i++) if (xs[i] !== MISSING) hist[strip[i] * BINS + Math.min(BINS - 1, Math.floor((xs[i] / Q) * BINS))]++;
  const w = [1, 4, 6, 4, 1];
  for (let pass = 0; pass < 2; pass++) {
    const out = new Float64Array(K * BINS);
    for (let k = 0; k < K; k++)
      for (let b = 0; b < BINS; b++) {
        let acc = 0;
        for (let d = -2; d <= 2; d++) {
          const bb = b + d;
          if (bb >= 0 && bb < BINS) acc += w[d + 2] * hist[k * BINS + bb];
        }
        out[k * BINS + b] = acc / 16;
      }
    hist = out;
  }
  const peak = new Float64Array(K);
  for (let k = 0; k < K; k++) for (let b = 0; b < BINS; b++) peak[k] = Math.max(peak[k], hist[k * BINS + b]);
  const geom = buildGeometry({ data: xs, dim: 1, bounds: base.bounds }, n);
  const y = geom.positions; // a fresh (x, jitter) array: y is rewritten before any use
  for (let i = 0; i < n; i++) {
    if (xs[i] === MISSING) continue;
    const k = strip[i];
    const d = peak[k] > 0 ? hist[k * BINS + Math.min(BINS - 1, Math.floor((xs[i] / Q) * BINS))] / peak[k] : 0;
    // a minimum spread keeps sparse tails visible as a thin line, not a single row of pixels
    const spread = 0.9 * Math.max(0.06, d);
    const row = K - 1 - k; // category 0 at the top
    const t = (row + 0.5 + (cellHash(i, JITTER_SEED) - 0.5) * spread) / K;
    y[2 * i + 1] = Math.max(0, Math.min(Q, Math.round(t * Q)));
  }
  const H = Math.min(MAX_WORLD, STRIP_WORLD * K);
  geom.scale[1] = H;
  geom.offset[1] = -H / 2;
  geom.extent[1] = H / 2;
  geom.strips = names.map((name, k) => {
    const row = K - 1 - k;
    return { name, y0: -H / 2 + (row / K) * H, y1: -H / 2 + ((row + 1) / K) * H };
  });
  return geom;
}

/**
 * The geometry `app` draws for a loaded one: in 1D the density strips of the colour column
 * (cached on the loaded geometry per column), else the geometry itself.
 */
export function shownGeometry(app, geom) {
  if (geom.dim !== 1) return geom;
  const col = app.colorColumn && app.colorColumn.kind === "categorical" ? app.colorColumn : null;
  if (!geom._strips || geom._strips.col !== col) geom._strips = { col, geom: stripGeometry(geom, app.n, col) };
  return geom._strips.geom;
}

/** 1D, after a new colour column: draw its strips (the camera fits them again). */
export function restrip(app) {
  const s = app.store.get();
  const base = app.geomCache.get(`${s.embedding}|${s.dimension}`);
  if (!app.geom || !base || base.dim !== 1) return;
  const geom = shownGeometry(app, base);
  if (geom === app.geom) return;
  app.geom = geom;
  app.renderer.setGeometry(geom, app.n);
  app.camera.setScene(geom.dim, geom.extent);
  app._hiddenKey = null; // the mask is keyed on the geometry object
  app.recomputeHidden(false);
}
