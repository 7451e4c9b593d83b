// The continuous colour scale's limits and its neutral zero colour.
//
// Robust limits by default: the 1st and 99th percentiles of the finite values, interpolated
// linearly between order statistics exactly as numpy.percentile does by default (so a value a
// user checks with numpy is the value the legend shows). Above SAMPLE_ABOVE values the
// percentiles come from an evenly strided sample of them (sorting a million values on every
// recolour costs ~100 ms). When both limits coincide (e.g. a gene expressed in under 1 % of
// the cells: both are 0) the full [min, max] is used instead, so the colours still vary.

/** Percentiles are computed on all values up to this many, on a strided sample above. */
export const SAMPLE_ABOVE = 200000;

/** Neutral colour of cells whose value is exactly 0 (option zeroNeutral), per theme. */
export const ZERO_RGB = { light: [211, 211, 211], dark: [80, 80, 88] }; // scanpy's "lightgray"

/** The finite values of `values` (sampled above SAMPLE_ABOVE), sorted ascending (Float64Array). */
export function sortedFinite(values) {
  const n = values.length;
  const step = n > SAMPLE_ABOVE ? Math.floor(n / SAMPLE_ABOVE) : 1;
  const s = new Float64Array(Math.ceil(n / step));
  let k = 0;
  for (let i = 0; i < n; i += step) if (Number.isFinite(values[i])) s[k++] = values[i];
  return s.subarray(0, k).sort(); // typed-array sort: numeric, no comparator calls
}

/** Percentile `p` (0–100) of sorted values, numpy's default ("linear") interpolation; NaN if empty. */
export function percentileSorted(sorted, p) {
  const k = sorted.length;
  if (!k) return NaN;
  const pos = Math.min(k - 1, Math.max(0, (p / 100) * (k - 1)));
  const lo = Math.floor(pos);
  const hi = Math.min(k - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Value at percentile `p` (0–100) of the finite values (see SAMPLE_ABOVE). */
export function percentile(values, p) {
  return percentileSorted(sortedFinite(values), p);
}

/**
 * [lo, hi] at percentiles `a` and `b` of the finite values; [min, max] when they coincide.
 * `column.min` / `column.max` (from the server) are used for the full range when present.
 */
export function clipRange(column, a, b) {
  const sorted = sortedFinite(column.values);
  const full = [column.min ?? sorted[0], column.max ?? sorted[sorted.length - 1]];
  if (a <= 0 && b >= 100) return full;
  const lo = percentileSorted(sorted, a), hi = percentileSorted(sorted, b);
  return hi > lo ? [lo, hi] : full;
}
