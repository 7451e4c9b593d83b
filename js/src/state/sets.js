// Set operations on sorted Uint32Array cell-index lists (selections, groups).

/** Sorted union of two sorted Uint32Arrays. */
export function union(a, b) {
  const out = new Uint32Array(a.length + b.length);
  let i = 0, j = 0, k = 0;
  while (i < a.length || j < b.length) {
    const v = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i++] : b[j++];
    if (k === 0 || out[k - 1] !== v) out[k++] = v;
  }
  return out.slice(0, k);
}

/** Elements of sorted `a` not in sorted `b`. */
export function difference(a, b) {
  const out = new Uint32Array(a.length);
  let j = 0, k = 0;
  for (let i = 0; i < a.length; i++) {
    while (j < b.length && b[j] < a[i]) j++;
    if (j >= b.length || b[j] !== a[i]) out[k++] = a[i];
  }
  return out.slice(0, k);
}

/** Indices i with mask[i] === 0 (e.g. the visible cells). */
export function indicesWhere0(mask) {
  let c = 0;
  for (let i = 0; i < mask.length; i++) if (!mask[i]) c++;
  const out = new Uint32Array(c);
  for (let i = 0, k = 0; i < mask.length; i++) if (!mask[i]) out[k++] = i;
  return out;
}
