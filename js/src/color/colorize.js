// Turn a field/gene column plus the color state into one RGBA byte per channel per cell.
import { categoricalColors, lut, parseColor, MISSING_RGB } from "./palettes.js";

/** Value at percentile `p` (0–100) of the finite values (sampled for speed on large arrays). */
export function percentile(values, p) {
  const n = values.length;
  const step = Math.max(1, Math.floor(n / 200000));
  const s = [];
  for (let i = 0; i < n; i += step) if (Number.isFinite(values[i])) s.push(values[i]);
  if (!s.length) return NaN;
  s.sort((a, b) => a - b);
  const idx = Math.min(s.length - 1, Math.max(0, Math.round((p / 100) * (s.length - 1))));
  return s[idx];
}

/** The [lo, hi] color range for continuous data: explicit `range` or the `clip` percentiles. */
export function colorRange(column, state) {
  if (state.range) return state.range;
  const [a, b] = state.clip;
  if (a <= 0 && b >= 100 && column.min != null && column.max != null) return [column.min, column.max];
  return [percentile(column.values, a), percentile(column.values, b)];
}

/** Category colors for a categorical column, as "#rrggbb". */
export function categoryColors(column) {
  if (!column._colors) column._colors = categoricalColors(column.categories.length, column.meta && column.meta.colors);
  return column._colors;
}

/**
 * Fill `out` (Uint8Array n*4) with the color of every cell. `null` column → one neutral color
 * (used while the first field is still loading: points first, then colors).
 */
export function colorize(out, n, column, state) {
  if (!column) {
    const c = state.theme === "dark" ? [200, 200, 210] : [90, 90, 100];
    for (let i = 0; i < n; i++) out.set([c[0], c[1], c[2], 255], i * 4);
    return out;
  }
  if (column.kind === "categorical") {
    const cols = categoryColors(column).map(parseColor);
    const codes = column.codes;
    for (let i = 0; i < n; i++) {
      const c = codes[i];
      const rgb = c === column.missing || c >= cols.length ? MISSING_RGB : cols[c];
      const o = i * 4;
      out[o] = rgb[0];
      out[o + 1] = rgb[1];
      out[o + 2] = rgb[2];
      out[o + 3] = 255;
    }
    return out;
  }
  const [lo, hi] = colorRange(column, state);
  const table = lut(state.colormap);
  const span = hi > lo ? hi - lo : 1;
  const v = column.values;
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    const x = v[i];
    if (!Number.isFinite(x)) {
      out[o] = MISSING_RGB[0];
      out[o + 1] = MISSING_RGB[1];
      out[o + 2] = MISSING_RGB[2];
      out[o + 3] = 255;
      continue;
    }
    let t = Math.round(((x - lo) / span) * 255);
    t = t < 0 ? 0 : t > 255 ? 255 : t;
    out[o] = table[t * 3];
    out[o + 1] = table[t * 3 + 1];
    out[o + 2] = table[t * 3 + 2];
    out[o + 3] = 255;
  }
  return out;
}

/** Overwrite colors of cells in visible highlight groups with the group color. */
export function applyHighlights(out, groups) {
  for (const g of groups) {
    if (!g.visible) continue;
    const [r, gg, b] = parseColor(g.color);
    for (const i of g.cells) {
      const o = i * 4;
      out[o] = r;
      out[o + 1] = gg;
      out[o + 2] = b;
    }
  }
}
