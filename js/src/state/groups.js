// Highlight groups and their pages: operations on the store, shared by the selection
// panel, the bridge (Python's highlight_cells) and the page's script API.
import { newId } from "./store.js";

/** Add (or replace, by name) a highlight group on the active page. */
export function addGroup(app, name, cells, color) {
  const s = app.store.get();
  const groups = s.highlightGroups.filter((g) => !(g.name === name && (g.page ?? s.activePage) === s.activePage));
  groups.push({ id: newId(), name, color, cells: Uint32Array.from(cells), visible: true, page: s.activePage });
  app.store.set({ highlightGroups: groups });
}

/** Create a page of highlight groups and make it the active one. */
export function newPage(app, name) {
  const s = app.store.get();
  const id = newId();
  app.store.set({ groupPages: [...s.groupPages, { id, name: name || `page ${s.groupPages.length + 1}` }], activePage: id });
  return id;
}

/** Change one group (visibility, colour, name) by id. */
export function updateGroup(app, id, patch) {
  app.store.set({ highlightGroups: app.store.get().highlightGroups.map((g) => (g.id === id ? { ...g, ...patch } : g)) });
}
