// From a field/gene column plus the color state to what the GPU draws: one palette index per
// cell and a small RGBA palette (render/shaders.js looks the color up). A colormap or theme
// change rebuilds only the palette; a new column, range or highlight rebuilds the indices.
//
// Palette layout, `base` = first highlight-group entry:
//   none:        [neutral]                                  base = 1
//   categorical: [category 0 .. K-1, missing]               base = K + 1
//   continuous:  [colormap level 0 .. 255, missing, zero]   base = 258 (zero: option zeroNeutral)
//   then one entry per highlight group of the active page (index base + g).
import { categoricalColors, lut, parseColor, MISSING_RGB } from "./palettes.js";
import { clipRange, ZERO_RGB } from "./scale.js";

export const LEVELS = 256; // continuous colormap levels
const NEUTRAL = { light: [90, 90, 100], dark: [200, 200, 210] };

/** The [lo, hi] color range for continuous data: explicit `range` or the `clip` percentiles (color/scale.js). */
export function colorRange(column, state) {
  if (state.range) return state.range;
  const [a, b] = state.clip;
  if (a <= 0 && b >= 100 && column.min != null && column.max != null) return [column.min, column.max];
  if (column._clip && column._clip.key === `${a},${b}`) return column._clip.range;
  const range = clipRange(column, a, b);
  column._clip = { key: `${a},${b}`, range };
  return range;
}

/** Category colors for a categorical column, as "#rrggbb". */
export function categoryColors(column) {
  if (!column._colors) column._colors = categoricalColors(column.categories.length, column.meta && column.meta.colors);
  return column._colors;
}

/** The neutral point color of a theme (no color field, or before its data arrives). */
export function neutralColor(theme) {
  return NEUTRAL[theme === "dark" ? "dark" : "light"];
}

/** Index of the first highlight-group entry for `column` (see the layout above). */
export function paletteBase(column) {
  if (!column || column.kind === "none") return 1;
  if (column.kind === "categorical") return column.categories.length + 1;
  return LEVELS + 2;
}

/** Palette index of the neutral zero colour of continuous columns (option zeroNeutral). */
export const ZERO_LEVEL = LEVELS + 1;

/** RGBA palette (Uint8Array, 4 bytes per entry) for `column`, the state and the active groups. */
export function buildPalette(column, state, groups) {
  const base = paletteBase(column);
  const out = new Uint8Array((base + groups.length) * 4).fill(255);
  const put = (k, rgb) => {
    out[4 * k] = rgb[0];
    out[4 * k + 1] = rgb[1];
    out[4 * k + 2] = rgb[2];
  };
  if (!column || column.kind === "none") put(0, neutralColor(state.theme));
  else if (column.kind === "categorical") {
    categoryColors(column).forEach((c, k) => put(k, parseColor(c)));
    put(base - 1, MISSING_RGB);
  } else {
    const table = lut(state.colormap);
    for (let k = 0; k < LEVELS; k++) put(k, [table[3 * k], table[3 * k + 1], table[3 * k + 2]]);
    put(LEVELS, MISSING_RGB);
    put(ZERO_LEVEL, ZERO_RGB[state.theme === "dark" ? "dark" : "light"]);
  }
  groups.forEach((g, k) => put(base + k, parseColor(g.color)));
  return out;
}

/**
 * Palette index of every cell for `column` alone (no highlight groups): Uint16Array, or
 * Uint32Array when the palette needs more than 65536 entries. Continuous values map to
 * round((v - lo) / (hi - lo) * 255) clamped to 0..255, as the CPU colors always did; with
 * `state.zeroNeutral`, values of exactly 0 take the neutral ZERO_LEVEL entry instead.
 */
export function columnLevels(column, n, state, extraEntries = 0) {
  const base = paletteBase(column);
  const Out = base + extraEntries > 65536 ? Uint32Array : Uint16Array;
  const out = new Out(n);
  if (!column || column.kind === "none") return out;
  if (column.kind === "categorical") {
    const codes = column.codes;
    const K = column.categories.length;
    const miss = column.missing;
    for (let i = 0; i < n; i++) {
      const c = codes[i];
      out[i] = c === miss || c >= K ? K : c;
    }
    return out;
  }
  const [lo, hi] = colorRange(column, state);
  const span = hi > lo ? hi - lo : 1;
  const v = column.values;
  const zero = state.zeroNeutral ? ZERO_LEVEL : -1;
  for (let i = 0; i < n; i++) {
    const x = v[i];
    if (x === 0 && zero >= 0) {
      out[i] = zero;
      continue;
    }
    if (x !== x || x === Infinity || x === -Infinity) {
      out[i] = LEVELS; // missing
      continue;
    }
    // same arithmetic as before: round(((x - lo) / span) * 255), clamped
    const t = Math.round(((x - lo) / span) * 255);
    out[i] = t < 0 ? 0 : t > 255 ? 255 : t;
  }
  return out;
}

/** `levels` with the cells of visible highlight groups moved to their group's entry (a copy if any). */
export function withGroups(levels, column, groups) {
  const active = groups.map((g, k) => [g, k]).filter(([g]) => g.visible && g.cells.length);
  if (!active.length) return levels;
  const out = levels.slice();
  const base = paletteBase(column);
  // later groups win, as they are drawn over earlier ones
  for (const [g, k] of active) for (const i of g.cells) if (i < out.length) out[i] = base + k;
  return out;
}

/**
 * Cells in ascending color-level order (missing and neutral zeros first), so high expression
 * is drawn on top (scanpy's sort_order): a counting sort over the levels, O(n). Cells of one level share one color, so their
 * relative order does not change the picture.
 */
export function levelOrder(levels) {
  const n = levels.length;
  const B = LEVELS + 1;
  const start = new Uint32Array(B + 1);
  // bucket 0 = missing (level 256) and neutral zeros (257), bucket 1 + l = level l
  for (let i = 0; i < n; i++) {
    const l = levels[i];
    start[(l >= LEVELS ? 0 : l + 1) + 1]++;
  }
  for (let b = 0; b < B; b++) start[b + 1] += start[b];
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const l = levels[i];
    order[start[l >= LEVELS ? 0 : l + 1]++] = i;
  }
  return order;
}

/** RGBA bytes per cell (Uint8Array n*4) from palette indices and the palette. */
export function rgbaFromIndex(index, palette, n) {
  const out = new Uint8Array(n * 4);
  const P = palette.length >> 2;
  const src = new Uint32Array(palette.buffer, palette.byteOffset, P);
  const dst = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    const k = index ? index[i] : 0;
    dst[i] = src[k < P ? k : 0];
  }
  return out;
}
