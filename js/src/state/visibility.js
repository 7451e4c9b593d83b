// Which cells are shown: coordinates valid, not filtered out, not in a hidden category of the
// colored field, not hidden by the host. Result: Uint8Array mask, 1 = hidden.

/** Does filter `f` keep cell `i`? Filters keep a reference to their loaded column. */
function filterKeeps(f, i) {
  const col = f.column;
  if (f.kind === "categorical") {
    const c = col.codes[i];
    return f.keep.has(c === col.missing ? -1 : c);
  }
  const v = col.values[i];
  return Number.isFinite(v) && v >= f.min && v <= f.max;
}

/**
 * Compute the hidden mask into `out` (Uint8Array n) and return the number of visible cells.
 * `invalid` marks cells with non-finite coordinates in the current embedding.
 */
export function computeHidden(out, n, { invalid, filters, colorColumn, hiddenCodes, externalHidden }) {
  out.fill(0);
  if (invalid) for (let i = 0; i < n; i++) out[i] = invalid[i];
  if (externalHidden) for (let i = 0; i < n; i++) out[i] |= externalHidden[i];
  if (colorColumn && colorColumn.kind === "categorical" && hiddenCodes && hiddenCodes.length) {
    const hide = new Uint8Array(Math.max(256, colorColumn.categories.length + 1));
    for (const c of hiddenCodes) hide[c === -1 ? hide.length - 1 : c] = 1;
    const codes = colorColumn.codes;
    const miss = colorColumn.missing;
    for (let i = 0; i < n; i++) {
      const c = codes[i];
      if (hide[c === miss ? hide.length - 1 : c]) out[i] = 1;
    }
  }
  for (const f of filters) for (let i = 0; i < n; i++) if (!out[i] && !filterKeeps(f, i)) out[i] = 1;
  let visible = 0;
  for (let i = 0; i < n; i++) visible += out[i] ? 0 : 1;
  return visible;
}
