// Cross-highlighting: the cells of one category (a hovered or pinned legend entry, or any
// panel's category or table row) emphasized in every view while the others fade. The store's
// `crossHighlight` is {label, cells: Uint32Array, pinned} or null; app.updateFlags turns it into
// the shared per-cell flags that every view draws (state/views.js, render/view.js).

/** Cells of category `code` (-1: missing) of a categorical column. */
export function categoryCells(col, code, n) {
  const codes = col.codes;
  let k = 0;
  for (let i = 0; i < n; i++) if ((codes[i] === col.missing ? -1 : codes[i]) === code) k++;
  const out = new Uint32Array(k);
  k = 0;
  for (let i = 0; i < n; i++) if ((codes[i] === col.missing ? -1 : codes[i]) === code) out[k++] = i;
  return out;
}

/**
 * Cross-highlight `cells` under `label`. A hover (`pinned` false) does not replace a pinned
 * highlight; pinning the pinned label again unpins it.
 */
export function setCrossHighlight(store, label, cells, pinned = false) {
  const cur = store.get().crossHighlight;
  if (pinned && cur && cur.pinned && cur.label === label) return store.set({ crossHighlight: null });
  if (!pinned && cur && cur.pinned) return;
  store.set({ crossHighlight: { label, cells, pinned } });
}

/** End a hover's highlight (a pinned one stays until unpinned). */
export function endCrossHover(store) {
  const cur = store.get().crossHighlight;
  if (cur && !cur.pinned) store.set({ crossHighlight: null });
}

/**
 * Cross-highlight category `name` (or code) of categorical `field` (default: the live view's
 * coloring); null clears any highlight, pinned or not. Rejects with the categories to choose from.
 */
export async function crossHighlightCategory(app, name, pinned = false, field = null) {
  if (name == null) return app.store.set({ crossHighlight: null });
  // another panel may name any categorical field (the analysis panel's groups); default: the live coloring
  const col = field ? await app.column("field", field) : app.colorColumn;
  if (!col || col.kind !== "categorical") throw new Error(`cross-highlighting needs a categorical field — ${field ? `${field} is not one` : "color by an obs field with categories first, or name one"}`);
  const code = typeof name === "number" ? name : name === "(missing)" ? -1 : col.categories.indexOf(name);
  if (code < -1 || (code === -1 && name !== "(missing)")) throw new Error(`no category ${name} in ${col.name}; categories: ${col.categories.slice(0, 20).join(", ")}`);
  setCrossHighlight(app.store, `${col.name}: ${code === -1 ? "(missing)" : col.categories[code]}`, categoryCells(col, code, app.n), pinned);
}

/** Selected cells per category (index K = missing) of a categorical column. */
export function selectedPerCategory(col, selection) {
  const K = col.categories.length;
  const out = new Uint32Array(K + 1);
  for (const i of selection) {
    const c = col.codes[i];
    out[c === col.missing || c >= K ? K : c]++;
  }
  return out;
}
