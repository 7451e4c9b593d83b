// What a figure shows, read from the viewer in one place: the figure builders (png.js,
// svg.js) see only this scene (its panels' views are the view interface: the live view's
// is the App itself, drawn through the same methods as a snapshot's). Also the parts both formats share: titles,
// provenance, the legend's entries and where each panel goes.
import { categoryColors } from "../color/colorize.js";
import { lut, toHex } from "../color/palettes.js";
import { fmt } from "../format.js";

/**
 * The scene of a figure: the store's state, the shown (not hidden) cells, the active
 * highlight groups, one panel per view shown (the live one first) and the live view's
 * overlays (vector streamlines, graph edges, centroid labels, smoke).
 */
export function figureScene(app) {
  const state = app.store.get();
  const live = { id: "live", view: app, state: { name: "live", colorBy: state.colorBy, embedding: state.embedding, dimension: state.dimension, colormap: state.colormap } };
  const on = (layer) => (layer && layer.on ? layer : null);
  return {
    identity: app.identity,
    state,
    n: app.n,
    hidden: app.hidden,
    hiddenVersion: app.hiddenVersion,
    visibleCount: app.visibleCount,
    groups: app.activeGroups().filter((g) => g.visible),
    bg: app.bg || [1, 1, 1],
    live: app,
    panels: app.viewManager ? app.viewManager.panels() : [live],
    overlays: {
      vectors: app.vectors.overlay.running ? app.vectors.overlay.canvas : null,
      edges: on(app.edges),
      labels: on(app.labels),
      // smoke (render/smoke.js) draws a volume, not points: its frame is what the renderer holds
      smokeRenderer: app.smoke && app.smoke.active(app.renderer) ? app.renderer : null,
    },
  };
}

/** Where a figure came from: embedded in PNG tEXt chunks and SVG <metadata>. */
export function provenance(scene) {
  const s = scene.state;
  const p = {
    dataset_id: scene.identity.id,
    dataset_name: scene.identity.name,
    field: s.colorBy ? s.colorBy.name : "",
    field_kind: s.colorBy ? s.colorBy.kind : "",
    embedding: s.embedding,
    dimension: String(s.dimension),
    visible_cells: String(scene.visibleCount),
    date: new Date().toISOString(),
    cellucid_version: scene.identity.cellucid_version || "",
  };
  if (scene.panels.length > 1) p.views = scene.panels.map((q) => `${q.state.name}: ${figureTitle(scene, q.state)}`).join(" | ");
  return p;
}

export function figureTitle(scene, s = scene.state) {
  const what = s.colorBy ? `${s.colorBy.name}${s.colorBy.kind === "gene" ? " (gene)" : ""}` : "cells";
  return `${scene.identity.name} — ${what} · ${s.embedding} ${s.dimension}D`;
}

/** A panel's title: the figure title, prefixed with the view's name when there are several. */
export function panelTitle(scene, panel, titled) {
  return titled ? `${panel.state.name}: ${figureTitle(scene, panel.state)}` : figureTitle(scene, panel.state);
}

/** What the legend shows: visible categories (with ≥ 1 visible cell), a color bar, visible groups. */
export function legendEntries(scene, panel) {
  const V = panel.view;
  const col = V.colorColumn;
  const out = { title: col && col.kind !== "none" ? col.name : "", items: [], bar: null, groups: [] };
  if (col && col.kind === "categorical") {
    const colors = categoryColors(col);
    const seen = new Uint8Array(col.categories.length);
    for (let i = 0; i < scene.n; i++) if (!scene.hidden[i] && col.codes[i] !== col.missing) seen[col.codes[i]] = 1;
    col.categories.forEach((name, k) => seen[k] && out.items.push({ name, color: colors[k] }));
  } else if (col && col.kind === "continuous") {
    const [lo, hi] = V.colorRangeNow();
    const table = lut(panel.state.colormap);
    const stops = [];
    for (let i = 0; i <= 10; i++) {
      const t = Math.round((i / 10) * 255);
      stops.push(toHex([table[t * 3], table[t * 3 + 1], table[t * 3 + 2]]));
    }
    out.bar = { lo: fmt(lo), hi: fmt(hi), stops };
  }
  out.groups = scene.groups.map((g) => ({ name: g.name, color: g.color }));
  return out;
}

/** Where each panel goes in a figure: two columns when there are several (CSS px). */
export function panelGrid(panels) {
  const cols = panels.length > 1 ? 2 : 1;
  const w = Math.max(...panels.map((p) => p.view.camera.width));
  const h = Math.max(...panels.map((p) => p.view.camera.height));
  return { cols, w, h, W: cols * w, H: Math.ceil(panels.length / cols) * h, at: (k) => [(k % cols) * w, Math.floor(k / cols) * h] };
}

/** The page's foreground and background colors (CSS variables of the theme). */
export function themeColors() {
  const css = getComputedStyle(document.documentElement);
  return { fg: css.getPropertyValue("--fg").trim() || "#000", bg: css.getPropertyValue("--bg").trim() };
}
