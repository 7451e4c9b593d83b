// Session state (view, colors, filters, selection, groups) saved to a JSON file and restored.
import { newId } from "../state/store.js";

export function sessionObject(app) {
  const s = app.store.get();
  return {
    cellucid_session: 1,
    dataset_id: app.identity.id,
    embedding: s.embedding,
    dimension: s.dimension,
    nav_mode: s.navMode,
    camera: app.camera.snapshot(),
    color_by: s.colorBy,
    colormap: s.colormap,
    clip: s.clip,
    range: s.range,
    hidden_categories: s.hiddenCategories,
    filters: s.filters.map((f) => ({ field: f.field, source: f.source, kind: f.kind, keep: f.keep ? [...f.keep] : undefined, min: f.min, max: f.max, label: f.label })),
    selection: Array.from(s.selection),
    highlight_groups: s.highlightGroups.map((g) => ({ name: g.name, color: g.color, visible: g.visible, cells: Array.from(g.cells) })),
    vectors: s.vectors,
    point_size: s.pointSize,
    opacity: s.opacity,
    theme: s.theme,
  };
}

export function saveSession(app) {
  const blob = new Blob([JSON.stringify(sessionObject(app))], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `cellucid_session_${app.identity.name}.json`.replace(/[^\w.-]+/g, "_");
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

export async function loadSessionFile(app, file) {
  try {
    await restoreSession(app, JSON.parse(await file.text()));
  } catch (e) {
    app.fail(e, "could not restore the session");
  }
}

/** Apply a session object (from `sessionObject`). Columns used by filters are loaded first. */
export async function restoreSession(app, o) {
  if (!o || o.cellucid_session !== 1) throw new Error("not a cellucid session file");
  if (o.dataset_id && o.dataset_id !== app.identity.id) console.warn("cellucid: session was saved for another dataset; applying what fits");
  const filters = [];
  for (const f of o.filters || []) {
    const column = await app.column(f.source === "gene" ? "gene" : "field", f.field);
    filters.push({ ...f, id: newId(), column, keep: f.keep ? new Set(f.keep) : undefined });
  }
  app.store.set({
    embedding: o.embedding,
    dimension: o.dimension,
    navMode: o.nav_mode || "orbit",
    colorBy: o.color_by,
    colormap: o.colormap || "viridis",
    clip: o.clip || [0, 100],
    range: o.range || null,
    hiddenCategories: o.hidden_categories || {},
    filters,
    selection: Uint32Array.from(o.selection || []),
    selectionSource: "session",
    highlightGroups: (o.highlight_groups || []).map((g) => ({ ...g, id: newId(), cells: Uint32Array.from(g.cells) })),
    pointSize: o.point_size || app.store.get().pointSize,
    opacity: o.opacity ?? 1,
    theme: o.theme || "light",
    vectors: !!o.vectors,
  });
  await app.geometryLoading;
  if (o.camera) app.camera.restore(o.camera);
  app.requestRender();
}
