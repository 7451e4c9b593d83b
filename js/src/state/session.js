// Session state (view, colors, filters, selection, groups) saved to a JSON file and restored.
import { newId } from "./store.js";
import { describeView, viewFromDescription } from "./views.js";
import { viewOptionDefaults } from "./viewOptions.js";
import { downloadFile } from "../page.js";

/** A session that cannot be applied; `hint` says what to do. */
export class SessionError extends Error {
  constructor(message, hint) {
    super(message);
    this.hint = hint;
  }
}

export function sessionObject(app) {
  const s = app.store.get();
  return {
    cellucid_session: 1,
    dataset_id: app.identity.id,
    dataset_name: app.identity.name,
    cellucid_version: app.identity.cellucid_version || null,
    saved_at: new Date().toISOString(),
    embedding: s.embedding,
    dimension: s.dimension,
    nav_mode: s.navMode,
    camera: app.camera.snapshot(),
    color_by: s.colorBy,
    colormap: s.colormap,
    clip: s.clip,
    range: s.range,
    hidden_categories: s.hiddenCategories,
    filters: s.filters.map((f) => ({ field: f.field, source: f.source, ...(f.spec ? { genes: f.spec.genes, method: f.spec.method } : {}), kind: f.kind, keep: f.keep ? [...f.keep] : undefined, min: f.min, max: f.max, label: f.label })),
    selection: Array.from(s.selection),
    group_pages: s.groupPages.map((p) => ({ id: p.id, name: p.name })),
    active_page: s.activePage,
    highlight_groups: s.highlightGroups.map((g) => ({ name: g.name, color: g.color, visible: g.visible, page: g.page ?? s.activePage, cells: Array.from(g.cells) })),
    vectors: s.vectors,
    vector_field: s.vectorField,
    vector_params: { ...s.vectorParams },
    proximity_radius: s.proximityRadius,
    knn_k: s.knnK,
    cvd: s.cvd,
    point_size: s.pointSize,
    opacity: s.opacity,
    theme: s.theme,
    // snapshots beside the live view (each with its own coloring, embedding, dimension, camera)
    views: app.viewManager ? app.viewManager.states().slice(1).map(describeView) : s.views.map(describeView),
    layout: s.layout,
    link_cameras: s.linkCameras,
    // how the view draws its cells (state/viewOptions.js)
    view_options: Object.fromEntries(Object.keys(viewOptionDefaults()).map((k) => [k, s[k]])),
  };
}

export function saveSession(app) {
  const blob = new Blob([JSON.stringify(sessionObject(app))], { type: "application/json" });
  downloadFile(blob, `cellucid_session_${app.identity.name}.json`.replace(/[^\w.-]+/g, "_"));
}

export async function loadSessionFile(app, file) {
  try {
    let o;
    try {
      o = JSON.parse(await file.text());
    } catch (e) {
      throw new SessionError(`${file.name} is not JSON`, "choose a session file saved by cellucid (“save” in the toolbar)");
    }
    await restoreSession(app, o);
  } catch (e) {
    app.emit("error", `Session not restored: ${e.message}`, e.hint || "");
  }
}

/** Apply a session object (from `sessionObject`). Columns used by filters are loaded first. */
export async function restoreSession(app, o) {
  if (!o || o.cellucid_session !== 1) throw new SessionError("this is not a cellucid session file", "choose a file saved with “save” in the toolbar");
  if (o.dataset_id !== app.identity.id) {
    // cell indices, fields and groups would point at the wrong cells: refuse instead of guessing
    throw new SessionError(
      `it was saved for dataset “${o.dataset_name || "?"}” (${o.dataset_id || "no id"}), but this is “${app.identity.name}” (${app.identity.id})`,
      "open the dataset the session was saved from, then load it again",
    );
  }
  const filters = [];
  for (const f of o.filters || []) {
    const spec = f.source === "signature" ? { genes: f.genes, method: f.method } : null;
    const column = await app.column(f.source === "gene" || f.source === "signature" ? f.source : "field", f.field, spec);
    filters.push({ ...f, id: newId(), column, spec: spec || undefined, keep: f.keep ? new Set(f.keep) : undefined });
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
    groupPages: o.group_pages && o.group_pages.length ? o.group_pages : [{ id: 1, name: "page 1" }],
    activePage: o.active_page ?? (o.group_pages && o.group_pages.length ? o.group_pages[0].id : 1),
    highlightGroups: (o.highlight_groups || []).map((g) => ({ ...g, id: newId(), page: g.page ?? 1, cells: Uint32Array.from(g.cells) })),
    vectorField: o.vector_field ?? null,
    vectorParams: { ...app.store.get().vectorParams, ...(o.vector_params || {}) },
    proximityRadius: o.proximity_radius ?? null,
    knnK: o.knn_k || 10,
    cvd: o.cvd || "none",
    pointSize: o.point_size || app.store.get().pointSize,
    opacity: o.opacity ?? 1,
    theme: o.theme || "light",
    vectors: !!o.vectors,
    // snapshots are rebuilt from scratch, so each gets its saved camera back
    views: [],
    // sessions saved before these options existed get the defaults
    ...Object.fromEntries(Object.entries(viewOptionDefaults()).map(([k, v]) => [k, o.view_options && k in o.view_options ? o.view_options[k] : v])),
  });
  app.store.set({ views: (o.views || []).map(viewFromDescription), layout: o.layout || "single", linkCameras: !!o.link_cameras });
  await app.geometryLoading;
  if (o.camera) app.camera.restore(o.camera);
  app.requestRender();
}
