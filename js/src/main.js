// Entry point: build the page, start the app, expose `window.cellucid` for tests and scripts.
import "./styles.css";
import { App } from "./app.js";
import { buildLayout, watchSize, mountProgress, NARROW_EMBED_PX } from "./ui/layout.js";
import { mountControls } from "./ui/controls.js";
import { mountLegend } from "./ui/legend.js";
import { mountFilters } from "./ui/filters.js";
import { mountSelection } from "./ui/selection.js";
import { addGroup, newPage } from "./state/groups.js";
import { mountTooltip } from "./ui/tooltip.js";
import { mountHelp } from "./ui/help.js";
import { mountStatus } from "./ui/status.js";
import { mountVectorPanel } from "./ui/vectors.js";
import { mountToolbar } from "./ui/toolbar.js";
import { figureScene } from "./figure/scene.js";
import { buildPNG } from "./figure/png.js";
import { buildSVG } from "./figure/svg.js";
import { sessionObject, restoreSession } from "./state/session.js";
import { bridgeParams, startBridge } from "./bridge/bridge.js";
import { readFragment, syncFragment, restoreFragmentCamera } from "./state/fragment.js";
import { initialChoices } from "./data/startup.js";
import { mark } from "./perf.js";
import { pageSearch } from "./page.js";
import { learnRendererForNextLoad } from "./render/choose.js";
import { mountAccessibility } from "./ui/a11y.js";
import { mountAnnotation } from "./ui/annotation.js";
import { mountAnalysis } from "./ui/analysis/panel.js";
import { mountViews } from "./ui/views.js";
import { crossHighlightCategory } from "./state/cross.js";
import { mountPlotOptions } from "./ui/plotOptions.js";
import { selectCells, clearSelection, selectCategory } from "./state/selection.js";
import { hideCategory } from "./state/categories.js";

/** The longest the side panels wait for the first frame (ms). */
const PANELS_LATEST_MS = 500;

async function main() {
  mark("main");
  const dom = buildLayout(document.getElementById("app"));
  const frag = readFragment();
  const prefersDark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  // Let the boot script (boot.js) read the identity and send the first frame's requests
  // before the long synchronous steps below (WebGL context, layout) hold the main thread.
  if (window.__cellucidBoot) await window.__cellucidBoot.glReady;
  mark("gl-ready");
  let app;
  try {
    app = new App(dom);
  } catch (e) {
    dom.progressLabel.textContent = `cellucid cannot start: ${e.message}`;
    throw e;
  }
  exposeApi(app);
  mountProgress(app, dom);
  const bridge = bridgeParams();
  if (bridge) dom.root.classList.add("embedded");
  // Narrow iframes (notebook) start with the side panel folded away; ☰ brings it back.
  // Decided before the canvas is sized, so the first frame is not drawn twice.
  if (bridge && dom.root.clientWidth < NARROW_EMBED_PX) dom.sidebar.classList.add("collapsed");
  watchSize(app, dom);
  try {
    await app.start({ ...initialChoices(), theme: new URLSearchParams(pageSearch()).get("theme") || (prefersDark ? "dark" : "light") });
  } catch (e) {
    app.fail(e, "could not load the dataset");
    return;
  }
  if (!app.identity) return;
  // The points first: the panels are built once the first frame is on the screen (the data
  // usually arrive before this code has loaded; building the panels first held the first
  // picture back by their DOM and layout work) — or after PANELS_LATEST_MS when the data take
  // longer (a slow link), so the controls do not wait for a long download.
  await Promise.race([app.geometryLoading, new Promise((r) => setTimeout(r, PANELS_LATEST_MS))]);
  await afterNextFrame();
  // what WebGL runs on, for the next load: asked now, so the GPU process's work overlaps the
  // panels' building rather than the first things the user does (render/choose.js)
  learnRendererForNextLoad();
  const help = mountHelp(app, dom);
  mountToolbar(app, dom, { toggleHelp: help.toggle });
  mountViews(app, dom);
  mountControls(app, dom);
  mountVectorPanel(app, dom);
  mountPlotOptions(app, dom);
  mountFilters(app, dom);
  mountSelection(app, dom);
  mountAnnotation(app, dom);
  mountAnalysis(app, dom);
  mountLegend(app, dom);
  mountStatus(app, dom);
  mountTooltip(app, dom);
  mountAccessibility(app, dom);
  mark("ui");
  restoreFragmentCamera(app, frag);
  syncFragment(app);
  app.attachInteraction({});
  if (bridge) startBridge(app, bridge);
  app.panelsDone();
}

/**
 * Resolves after the next animation frame has been produced (its pixels on the way to the
 * screen), or after 100 ms: a hidden page (background tab, folded notebook output) gets no
 * animation frames and must still get its panels.
 */
function afterNextFrame() {
  return new Promise((resolve) => {
    const fallback = setTimeout(resolve, 100);
    requestAnimationFrame(() => setTimeout(() => (clearTimeout(fallback), resolve()), 0));
  });
}

/** `window.cellucid`: a small scripting/test surface over the app. */
function exposeApi(app) {
  window.cellucid = {
    app,
    ready: app.ready,
    state: () => app.snapshot(),
    project: (i) => app.project(i),
    projectMany: (idx) => idx.map((i) => app.project(i)),
    setColorBy: (name, kind) => app.setColorBy(name, kind),
    setEmbedding: (key) => app.setEmbedding(key),
    setDimension: (d) => app.setDimension(d),
    setNavMode: (m) => app.store.set({ navMode: m }),
    setTool: (t) => app.store.set({ tool: t }),
    setPointSize: (s) => app.store.set({ pointSize: s }),
    setTheme: (t) => app.store.set({ theme: t }),
    setVectors: (on) => app.store.set({ vectors: !!on }),
    /** Per-view drawing options (state/viewOptions.js), e.g. {renderMode: "smoke", labels: true}. */
    setViewOptions: (patch) => app.store.set(patch),
    /** Placed centroid labels (CSS px, canvas-relative): [{name, x, y, ax, ay, w, h, shifted}]. */
    labels: () => (app.labels ? app.labels.placed.map(({ name, x, y, ax, ay, w, h, shifted }) => ({ name, x, y, ax, ay, w, h, shifted })) : []),
    resetView: () => app.resetView(),
    select: (cells) => selectCells(app.store, cells, "script"),
    clearSelection: () => clearSelection(app.store),
    hideCategory: (name, hide = true) => hideCategory(app.store, app.colorColumn, name, hide),
    highlight: (cells, color = "#ff0000", name = "script") => addGroup(app, name, cells, color),
    pick: (x, y) => app.pick(x, y),
    camera: () => app.camera.snapshot(),
    /** Resolves after the next frame has been drawn (all pending changes applied). */
    frame: () => new Promise((res) => {
      const off = app.on("frame", () => (off(), res(app.renderer.frames)));
      app.requestRender();
    }),
    svg: (opts) => buildSVG(figureScene(app), opts),
    /** The PNG figure as base64 (scale 1–4). */
    png: async (scale = 1) => {
      const b = await buildPNG(figureScene(app), scale);
      let s = "";
      for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
      return btoa(s);
    },
    selectProximity: (cell, mode) => app.neighborhoods.selectProximity(cell, mode),
    growKnn: (k) => app.neighborhoods.growKnn(k),
    selectCategory: (name, mode) => selectCategory(app.store, app.colorColumn, app.hidden, app.n, app.colorColumn.categories.indexOf(name), mode),
    setProximityRadius: (r) => app.store.set({ proximityRadius: r }),
    newPage: (name) => newPage(app, name),
    setPage: (name) => app.store.set({ activePage: app.store.get().groupPages.find((p) => p.name === name).id }),
    setCvd: (m) => app.store.set({ cvd: m }),
    /** rAF timestamps of the vector overlay's recent animated frames. */
    vectorFrameTimes: () => [...app.vectors.overlay.frameTimes],
    vectorWorkTimes: () => [...app.vectors.overlay.workTimes],
    session: () => sessionObject(app),
    /** Views (ui/views.js): freeze the live view into a snapshot (returns its id), remove one, lay them out. */
    snapshot: (opts = {}) => app.viewManager.snapshot(opts),
    removeView: (id) => app.viewManager.removeView(id),
    setLayout: (l) => app.viewManager.setLayout(l),
    linkCameras: (on) => app.viewManager.setLinkCameras(on),
    views: () => app.viewManager.describe().views,
    /** Where cell i is drawn in view `id` (CSS px relative to that view's canvas). */
    projectIn: (id, i) => app.viewManager.entry(id).view.project(i),
    /** Cross-highlight a category of the colored field (null clears; pinned stays on leaving). */
    crossHighlight: (name, pinned = false, field = null) => crossHighlightCategory(app, name, pinned, field),
    restoreSession: (o) => restoreSession(app, o),
  };
}

main();
