// Views: the live view plus up to MAX_VIEWS - 1 frozen snapshots over the same cells.
//
// Each view's own options live in ONE plain per-view state object (`ViewState` below): what it
// is colored by, the color map / clip / range, its embedding and dimension, and its camera.
// The live view's options are the store's top-level keys (the rest of the viewer reads them
// there); snapshots are the store's `views` array of these objects. Everything else —
// selection, highlight groups, filters, hidden categories, hover, cross-highlight — is shared
// by every view (one store).

/** The live view plus at most three snapshots (a 2 × 2 grid). */
export const MAX_VIEWS = 4;
/** Layouts: "single" shows the live view only; "grid" shows every view side by side. */
export const LAYOUTS = ["single", "grid"];

/**
 * @typedef {object} ViewState
 * @property {string} id        stable id ("live" for the live view; snapshots: "view-<k>" or the caller's)
 * @property {string} name      shown in the view's header and in figure panels
 * @property {string} embedding obsm key
 * @property {number} dimension 1 | 2 | 3
 * @property {{kind: string, name: string}|null} colorBy
 * @property {string} colormap
 * @property {number[]} clip
 * @property {number[]|null} range
 * @property {object|null} camera  Camera.snapshot()
 */

/** The live view's options as a ViewState (read from the store and its camera). */
export function liveViewState(s, camera) {
  return {
    id: "live",
    name: "live",
    embedding: s.embedding,
    dimension: s.dimension,
    colorBy: s.colorBy,
    colormap: s.colormap,
    clip: s.clip,
    range: s.range,
    camera: camera ? camera.snapshot() : null,
  };
}

let counter = 0;

/** A fresh snapshot id not used by `views` ("view-1", "view-2", …). */
export function newViewId(views) {
  const used = new Set(views.map((v) => v.id));
  let id;
  do id = `view-${++counter}`;
  while (used.has(id));
  return id;
}

/**
 * A snapshot of `base` (a ViewState, usually the live one) with `overrides` applied: the
 * caller (Python's `viewer.snapshot(color_by=…)`) may give another coloring, embedding or
 * dimension. Throws with an actionable message when there is no room for another view.
 */
export function makeSnapshot(views, base, overrides = {}) {
  if (views.length >= MAX_VIEWS - 1) {
    throw new Error(`at most ${MAX_VIEWS} views (the live view and ${MAX_VIEWS - 1} snapshots) fit side by side — remove a snapshot first`);
  }
  const id = overrides.id || newViewId(views);
  if (views.some((v) => v.id === id)) throw new Error(`a view with id ${id} already exists — choose another id`);
  const v = { ...base, ...Object.fromEntries(Object.entries(overrides).filter(([, x]) => x != null)), id };
  if (!overrides.name) v.name = `snapshot ${views.length + 1}`;
  return v;
}

/** The store patch that replaces view `id` by `fn(view)`. */
export function updateView(views, id, fn) {
  return views.map((v) => (v.id === id ? fn(v) : v));
}

/** Plain description of a view for Python, sessions and tests (`viewer.views`). */
export function describeView(v) {
  return {
    id: v.id,
    name: v.name,
    embedding: v.embedding,
    dimension: v.dimension,
    color_by: v.colorBy ? v.colorBy.name : null,
    color_by_kind: v.colorBy ? v.colorBy.kind : null,
    // a signature is scored again from its genes and method (sessions)
    ...(v.colorBy && v.colorBy.genes ? { color_by_genes: [...v.colorBy.genes], color_by_method: v.colorBy.method || "mean" } : {}),
    colormap: v.colormap,
    clip: v.clip ? [...v.clip] : null,
    range: v.range ? [...v.range] : null,
    camera: v.camera || null,
  };
}

/** The inverse of describeView (session files, Python). */
export function viewFromDescription(d) {
  return {
    id: d.id,
    name: d.name || d.id,
    embedding: d.embedding,
    dimension: d.dimension,
    colorBy: d.color_by
      ? { kind: d.color_by_kind || "field", name: d.color_by, ...(d.color_by_genes ? { genes: d.color_by_genes, method: d.color_by_method || "mean" } : {}) }
      : null,
    colormap: d.colormap || "viridis",
    clip: d.clip || [0, 100],
    range: d.range || null,
    camera: d.camera || null,
  };
}

/**
 * Cells drawn again on top (selected / highlighted, not hidden), in the pass-1 draw order
 * `order` (null: index order) — one view's emphasis list from the shared flags.
 */
export function emphasisList(flags, hidden, order, n) {
  let k = 0;
  for (let i = 0; i < n; i++) if (flags[i] & 6 && !hidden[i]) k++;
  const emph = new Uint32Array(k);
  k = 0;
  if (order) {
    for (let j = 0; j < n; j++) {
      const i = order[j];
      if (flags[i] & 6 && !hidden[i]) emph[k++] = i;
    }
  } else for (let i = 0; i < n; i++) if (flags[i] & 6 && !hidden[i]) emph[k++] = i;
  return emph;
}
