// Progressive loading of large datasets: past `progressive_above` cells (default 2M) the viewer
// does not wait for every point. It asks for a strided sample first — every `step`-th cell of
// the file, so the first picture is a stratified sample of it whatever the file's order — draws
// it, then streams the rest in contiguous ranges of `chunk_cells` cells and redraws after each.
// Both sides compute the plan from the cell count alone (the routes take Python's
// range(start, stop, step) over cell positions; docs/http-api.md), so no permutation travels.
// Cells keep their true positions throughout: a cell not yet loaded holds the "missing"
// coordinate (65535), which both renderers already skip, so colors, picking and selection
// index the same arrays as without progressive loading.
import { pageSearch } from "../page.js";
import { MISSING } from "../render/geometry.js";

/** Cells in the first request (2 MB of 2D coordinates). */
export const FIRST_CELLS = 500000;
/** Datasets up to this size load at once: their whole 2D embedding (8 MB) is no more than the
 * first frame's byte budget, and one request draws sooner than a sample plus the rest. */
export const PROGRESSIVE_ABOVE = 2000000;
/** Cells per later request (8 MB of 2D coordinates). */
export const CHUNK_CELLS = 2000000;

function countParam(search, name) {
  const v = new URLSearchParams(search).get(name);
  const n = v == null || v.trim() === "" ? NaN : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The loading plan for `n` cells, or null (one request, as for small datasets). The page URL
 * may set `?first_cells=N` (0: never progressive), `?chunk_cells=N` and `?progressive_above=N`
 * (a `first_cells` given in the URL alone also makes any dataset above it progressive).
 * {n, sample: {step}, sampleCount, chunks: [{start, stop}]}.
 */
export function loadPlan(n, search = pageSearch()) {
  const given = countParam(search, "first_cells");
  const first = given ?? FIRST_CELLS;
  const above = countParam(search, "progressive_above") ?? (given !== undefined ? given : PROGRESSIVE_ABOVE);
  const chunk = Math.max(1, countParam(search, "chunk_cells") || CHUNK_CELLS);
  if (!(first > 0) || n <= Math.max(first, above)) return null;
  const step = Math.ceil(n / first);
  const chunks = [];
  for (let a = 0; a < n; a += chunk) chunks.push({ start: a, stop: Math.min(n, a + chunk) });
  return { n, sample: { step }, sampleCount: Math.ceil(n / step), chunks };
}

/** Query parameters of a cell range (absent ones left out, so URLs stay the same everywhere). */
export function rangeParams(cells) {
  if (!cells) return {};
  const out = {};
  for (const k of ["start", "stop", "step"]) if (cells[k] != null) out[k] = cells[k];
  return out;
}

/** Copy `part` (rows of `width` values for the cells range(start, .., step)) into `full` at their true rows. */
export function scatterRows(full, part, width, { start = 0, step = 1 } = {}) {
  if (step === 1) return void full.set(part, start * width);
  const m = part.length / width;
  for (let k = 0, i = start * width, s = step * width; k < m; k++, i += s) {
    for (let a = 0; a < width; a++) full[i + a] = part[k * width + a];
  }
}

/**
 * Coordinates for `n` cells that arrive in parts. `positions` (Uint16Array n*dim, missing
 * until loaded) and `invalid` (1 = no coordinates: not loaded yet, or missing in the data)
 * are what render/geometry.js buildGeometry takes.
 */
export class PartialEmbedding {
  constructor(n, dim, bounds) {
    this.n = n;
    this.dim = dim;
    this.bounds = bounds;
    this.positions = new Uint16Array(n * dim).fill(MISSING);
    this.invalid = new Uint8Array(n).fill(1);
    this.nInvalid = n;
  }


  /** Put the rows of the cells range(start, .., step) in place. */
  add(part, cells) {
    const { dim, invalid } = this;
    const start = cells.start || 0, step = cells.step || 1;
    scatterRows(this.positions, part, dim, { start, step });
    const m = part.length / dim;
    for (let k = 0, i = start; k < m; k++, i += step) {
      let bad = 0;
      for (let a = 0; a < dim; a++) if (part[k * dim + a] === MISSING) bad = 1;
      if (invalid[i] && !bad) this.nInvalid--;
      else if (!invalid[i] && bad) this.nInvalid++;
      invalid[i] = bad;
    }
  }
}

/** A per-cell column (field codes or values) of the sampled cells, spread over `n` cells. */
export function spreadColumn(col, n, sample) {
  if (col.kind === "continuous") {
    const values = new Float32Array(n).fill(NaN);
    scatterRows(values, col.values, 1, sample);
    return { ...col, values, partial: true };
  }
  const codes = new col.codes.constructor(n).fill(col.missing);
  scatterRows(codes, col.codes, 1, sample);
  return { ...col, codes, partial: true };
}
