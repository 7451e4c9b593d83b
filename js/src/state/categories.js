// Hiding and showing the categories of the colored field (the legend's clicks, the script
// API): each is one update of store.hiddenCategories[field] (category codes; -1 = missing).
const isCategorical = (col) => !!col && col.kind === "categorical";

/** Hide category `code` of `col` if shown, show it if hidden. */
export function toggleCategory(store, col, code) {
  if (!isCategorical(col)) return;
  const s = store.get();
  const cur = new Set(s.hiddenCategories[col.name] || []);
  cur.has(code) ? cur.delete(code) : cur.add(code);
  store.set({ hiddenCategories: { ...s.hiddenCategories, [col.name]: [...cur] } });
}

/** Show only `code`; isolating the already isolated category shows all again. */
export function isolateCategory(store, col, code) {
  if (!isCategorical(col)) return;
  const s = store.get();
  const all = col.categories.map((_, i) => i);
  if (col.meta && col.meta.n_missing) all.push(-1);
  const cur = new Set(s.hiddenCategories[col.name] || []);
  const isolated = !cur.has(code) && cur.size === all.length - 1;
  const hidden = isolated ? [] : all.filter((c) => c !== code);
  store.set({ hiddenCategories: { ...s.hiddenCategories, [col.name]: hidden } });
}

/** Hide (or show, `hide` false) the category called `name`; throws when there is none. */
export function hideCategory(store, col, name, hide = true) {
  const code = col && col.categories ? col.categories.indexOf(name) : -1;
  if (code < 0) throw new Error(`no category ${name} in the current color field`);
  const cur = new Set(store.get().hiddenCategories[col.name] || []);
  if (cur.has(code) !== hide) toggleCategory(store, col, code);
}
