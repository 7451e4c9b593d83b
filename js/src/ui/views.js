// Live + snapshots (small multiples): the grid of views, their headers, the toolbar's
// snapshot / layout / link-cameras buttons, hover marks in every view, and linked cameras.
// Each snapshot is a SnapshotView (render/view.js) over the shared store; its options are a
// ViewState in the store's `views` (state/views.js).
import { h } from "./dom.js";
import { renderViewLegend } from "./viewLegend.js";
import { SnapshotView } from "../render/view.js";
import { LAYOUTS, MAX_VIEWS, makeSnapshot, liveViewState, describeView, updateView } from "../state/views.js";

const SVG = "http://www.w3.org/2000/svg";

/** What a view shows, for its header and figure panels: "leiden · X_umap 2D". */
export function viewLabel(v) {
  const what = v.colorBy ? `${v.colorBy.name}${v.colorBy.kind === "gene" ? " (gene)" : ""}` : "cells";
  return `${what} · ${v.embedding} ${v.dimension}D`;
}

export function mountViews(app, dom) {
  const { store } = app;
  const views = new Map(); // id -> {view, cell, head, ring, off}
  const live = { id: "live", cell: dom.liveCell, overlay: dom.overlay, view: app, camera: app.camera, ring: ring(dom.overlay) };
  const liveHead = h("div.view-head", { "data-testid": "view-head-live" }, h("b", {}, "live"), h("span.view-what"));
  dom.liveCell.append(liveHead);
  live.head = liveHead;

  function ring(overlay) {
    const c = document.createElementNS(SVG, "circle");
    c.setAttribute("class", "hover-mark");
    c.setAttribute("r", "7");
    c.style.display = "none";
    overlay.appendChild(c);
    return c;
  }

  // ------------------------------------------------------------ snapshots

  const addView = (state) => {
    const canvas = h("canvas", { "data-testid": `canvas-${state.id}`, "aria-label": `cell embedding, ${state.name}` });
    const overlay = document.createElementNS(SVG, "svg");
    overlay.setAttribute("class", "overlay");
    const remove = h("button.view-close", { title: `remove ${state.name}`, "aria-label": `remove ${state.name}`, "data-testid": `remove-${state.id}`, on: { click: () => removeView(state.id) } }, "×");
    const head = h("div.view-head", { "data-testid": `view-head-${state.id}` }, h("b", {}, state.name), h("span.view-what"), remove);
    const key = h("div.view-legend", { "data-testid": `view-legend-${state.id}`, hidden: true });
    const cell = h("div.view", { dataset: { view: state.id } }, canvas, overlay, head, key);
    dom.views.append(cell);
    const view = new SnapshotView(app, canvas, overlay, state);
    const entry = { id: state.id, cell, head, key, overlay, view, camera: view.camera, ring: ring(overlay) };
    view.onFrame = () => afterFrame(entry);
    view.loading.then(() => refreshKey(entry)).catch((e) => app.fail(e, `could not show ${state.name}`));
    app.attachViewInteraction({ canvas, overlay, camera: view.camera, view });
    const ro = new ResizeObserver(() => fit(entry));
    ro.observe(cell);
    entry.off = () => ro.disconnect();
    views.set(state.id, entry);
    fit(entry);
    return entry;
  };

  /** The snapshot's color key, once its column is in (and again when the shown cells change). */
  const refreshKey = (entry) => {
    if (!entry.view.disposed) renderViewLegend(entry.key, app, entry.view);
  };

  const fit = (entry) => {
    const r = entry.view.canvas.getBoundingClientRect(); // inside the cell's border
    if (!r.width || !r.height) return; // hidden (single layout)
    entry.view.resize(r.width, r.height, window.devicePixelRatio || 1);
  };

  /** Freeze the live view (or `overrides`: another coloring / embedding / dimension) into a snapshot; returns its id. */
  function snapshot(overrides = {}) {
    const s = store.get();
    const o = { ...overrides };
    if (typeof o.colorBy === "string") {
      const kind = app.identity.fields.some((f) => f.name === o.colorBy) ? "field" : "gene";
      o.colorBy = { kind, name: o.colorBy };
    }
    if (o.embedding && !app.identity.embeddings.some((e) => e.key === o.embedding)) {
      throw new Error(`unknown embedding ${o.embedding}; choose one of ${app.identity.embeddings.map((e) => e.key).join(", ")}`);
    }
    const emb = app.identity.embeddings.find((e) => e.key === (o.embedding || s.embedding));
    if (o.dimension != null && !emb.dimensions.includes(Number(o.dimension))) throw new Error(`embedding ${emb.key} has no ${o.dimension}D view (it has ${emb.dimensions.join(", ")}D)`);
    if (o.dimension == null && o.embedding && !emb.dimensions.includes(s.dimension)) o.dimension = Math.min(2, Math.max(...emb.dimensions));
    if (o.dimension != null) o.dimension = Number(o.dimension);
    const base = liveViewState(s, app.camera);
    // another embedding or dimension: its own camera, fitted to its data
    if ((o.embedding && o.embedding !== s.embedding) || (o.dimension && o.dimension !== s.dimension)) base.camera = null;
    const v = makeSnapshot(s.views, base, o);
    store.set({ views: [...s.views, v], layout: "grid" });
    return v.id;
  }

  function removeView(id) {
    const s = store.get();
    if (!s.views.some((v) => v.id === id)) throw new Error(`no view ${id}; the views are ${["live", ...s.views.map((v) => v.id)].join(", ")}`);
    store.set({ views: s.views.filter((v) => v.id !== id) });
  }

  function setLayout(layout) {
    if (!LAYOUTS.includes(layout)) throw new Error(`layout must be one of ${LAYOUTS.join(", ")}, not ${layout}`);
    store.set({ layout });
  }

  // the store's `views` is the truth: create / drop / re-apply SnapshotViews to match it
  const syncViews = () => {
    const want = store.get().views;
    for (const [id, e] of views) {
      if (!want.some((v) => v.id === id)) {
        e.off();
        e.view.dispose();
        e.cell.remove();
        views.delete(id);
        synced.delete(e);
      }
    }
    for (const v of want) {
      const e = views.get(v.id);
      if (!e) addView(v);
      else if (e.view.state !== v) {
        const sameScene = e.view.state.embedding === v.embedding && e.view.state.dimension === v.dimension;
        e.view.loading = e.view.apply(v, !sameScene).then(() => refreshKey(e)).catch((err) => app.fail(err, `could not show ${v.name}`));
      }
    }
    layoutGrid();
  };

  // ------------------------------------------------------------ layout

  const layoutGrid = () => {
    const s = store.get();
    const grid = s.layout === "grid" && s.views.length > 0;
    const count = 1 + s.views.length;
    dom.views.dataset.layout = grid ? "grid" : "single";
    dom.views.style.setProperty("--cols", grid && count > 1 ? 2 : 1);
    dom.views.style.setProperty("--rows", grid ? Math.ceil(count / 2) : 1);
    for (const e of views.values()) {
      e.cell.hidden = !grid;
      e.view.renderer.setPaused(!grid); // hidden snapshots do not redraw on every change
    }
    placeGrid();
    for (const e of views.values()) fit(e);
    updateHeads();
    updateRings();
  };

  // the grid sits below the toolbar and left of the legend, so no control covers a view header
  const placeGrid = () => {
    const st = dom.stage.getBoundingClientRect();
    const tb = dom.toolbar.getBoundingClientRect();
    dom.stage.style.setProperty("--views-top", `${Math.ceil(tb.bottom - st.top + 6)}px`);
  };
  new ResizeObserver(placeGrid).observe(dom.toolbar);

  const updateHeads = () => {
    const s = store.get();
    live.head.querySelector(".view-what").textContent = viewLabel(liveViewState(s, null));
    for (const e of views.values()) e.head.querySelector(".view-what").textContent = viewLabel(e.view.state);
  };

  // ------------------------------------------------------------ hover marks and cameras

  const entries = () => [live, ...views.values()];

  /** The hovered cell is ringed in every view, at its position in that view. */
  const updateRings = () => {
    const cell = store.get().hover;
    const grid = dom.views.dataset.layout === "grid";
    for (const e of entries()) {
      const p = cell != null && (e === live || grid) ? e.view.project(cell) : null;
      e.ring.style.display = p ? "" : "none";
      if (p) {
        e.ring.setAttribute("cx", p.x.toFixed(1));
        e.ring.setAttribute("cy", p.y.toFixed(1));
      }
      e.ring.dataset.cell = cell ?? "";
    }
  };

  const synced = new Map(); // entry -> camera version it was last synced at
  /** After a view's frame: move its ring; with linked cameras, bring the others to its camera. */
  const afterFrame = (entry) => {
    updateRings();
    const s = store.get();
    const v = entry.camera.version;
    if (synced.get(entry) === v) return;
    synced.set(entry, v);
    if (!s.linkCameras || dom.views.dataset.layout !== "grid") return;
    const snap = entry.camera.snapshot();
    for (const other of entries()) {
      if (other === entry || other.camera.dim !== entry.camera.dim) continue;
      other.camera.restore(snap);
      synced.set(other, other.camera.version);
      other.view.requestRender(true);
    }
  };
  app.on("frame", () => afterFrame(live));

  // ------------------------------------------------------------ shared state → every view

  app.on("flags", () => views.forEach((e) => e.view.updateFlags()));
  // The shown cells changed (filters, hidden categories, progressively loaded cells): a
  // category with no visible cell leaves the keys. Checked after each live frame, which
  // follows every such change.
  let keysAt = -1;
  app.on("frame", () => {
    if (keysAt === app.hiddenVersion || !views.size) return;
    keysAt = app.hiddenVersion;
    views.forEach(refreshKey);
  });
  app.on("params", (p) => views.forEach((e) => e.view.setParams({ ...p, dpr: e.view.renderer.params.dpr })));
  store.subscribe((s, changed) => {
    if (changed.has("views")) syncViews();
    else if (changed.has("layout")) layoutGrid();
    if (["highlightGroups", "activePage", "theme"].some((k) => changed.has(k))) views.forEach((e) => e.view.recolor());
    if (["colorBy", "embedding", "dimension"].some((k) => changed.has(k))) updateHeads();
    if (changed.has("hover")) updateRings();
    if (changed.has("linkCameras")) linkBtn.classList.toggle("active", s.linkCameras);
    if (changed.has("layout") || changed.has("views")) syncButtons();
  });

  // ------------------------------------------------------------ toolbar

  const snapBtn = h("button", { title: `freeze this view as a snapshot beside it (up to ${MAX_VIEWS} views)`, "aria-label": "snapshot the view", "data-testid": "snapshot", on: { click: () => guard(() => snapshot()) } }, "+ snapshot");
  const gridBtn = h("button", { title: "show the snapshots side by side, or the live view alone", "aria-label": "grid or single layout", "data-testid": "layout-toggle", on: { click: () => setLayout(store.get().layout === "grid" ? "single" : "grid") } }, "▦ grid");
  const linkBtn = h("button", { title: "move every view's camera together", "aria-label": "link cameras", "data-testid": "link-cameras", on: { click: () => store.set({ linkCameras: !store.get().linkCameras }) } }, "link cameras");
  const guard = (fn) => {
    try {
      fn();
    } catch (e) {
      app.emit("error", e.message, "");
    }
  };
  const syncButtons = () => {
    const s = store.get();
    snapBtn.disabled = s.views.length >= MAX_VIEWS - 1;
    gridBtn.classList.toggle("active", s.layout === "grid");
    gridBtn.hidden = linkBtn.hidden = !s.views.length;
  };
  // before the help button, so "?" stays last
  const help = dom.toolbar.querySelector("[data-testid=help]");
  const group = h("div.group", {}, snapBtn, gridBtn, linkBtn);
  if (help) dom.toolbar.insertBefore(group, help.parentElement);
  else dom.toolbar.append(group);
  syncButtons();
  syncViews();

  const manager = {
    snapshot,
    removeView,
    setLayout,
    setLinkCameras: (on) => store.set({ linkCameras: !!on }),
    /** Every view (live first) with its camera as it is now. */
    states: () => [liveViewState(store.get(), app.camera), ...store.get().views.map((v) => (views.get(v.id) ? views.get(v.id).view.current() : v))],
    /** The views a figure shows: the live one, plus the snapshots in the grid layout. */
    panels: () => (dom.views.dataset.layout === "grid" ? entries().map((e) => ({ id: e.id, view: e.view, state: e === live ? liveViewState(store.get(), app.camera) : e.view.state })) : [{ id: "live", view: app, state: liveViewState(store.get(), app.camera) }]),
    entry: (id) => (id === "live" ? live : views.get(id)),
    describe: () => {
      const s = store.get();
      return {
        views: manager.states().map(describeView),
        layout: s.layout,
        link_cameras: s.linkCameras,
        cross_highlight: s.crossHighlight ? { label: s.crossHighlight.label, count: s.crossHighlight.cells.length, pinned: !!s.crossHighlight.pinned } : null,
      };
    },
    /** Rename / recolor a snapshot (Python, sessions). */
    update: (id, patch) => store.set({ views: updateView(store.get().views, id, (v) => ({ ...v, ...patch })) }),
  };
  app.viewManager = manager;
  return manager;
}
