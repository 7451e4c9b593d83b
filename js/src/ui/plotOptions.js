// The "Plot" side-panel section and the wiring of the per-view drawing options
// (state/viewOptions.js): render mode points | smoke (render/smoke.js) and its controls,
// centroid labels (ui/labels.js), neighbour-graph edges (render/edges.js), and for continuous
// colours the draw order (expressing cells on top) and the neutral zero colour.
import { h, fmtInt } from "./dom.js";
import { Smoke } from "../render/smoke.js";
import { CentroidLabels } from "./labels.js";
import { GraphEdges } from "../render/edges.js";

/** Build the section, attach smoke / labels / edges to `app` (app.smoke, app.labels, app.edges). */
export function mountPlotOptions(app, dom) {
  const { store } = app;
  const smoke = (app.smoke = new Smoke());
  app.renderer.volume = smoke;
  let version = 0;
  smoke.setInput({
    get geom() { return app.geom; },
    get n() { return app.n; },
    get hidden() { return app.hidden; },
    get version() { return version; },
    colors: () => app.colors,
  });
  const edgeCanvas = h("canvas.edges", { hidden: true, "data-testid": "edge-overlay" });
  // in the live view's cell (ui/views.js), under the vector overlay: edges and labels follow
  // the live camera, so they sit over the live canvas in the single and the grid layout alike
  dom.vectorCanvas.parentNode.insertBefore(edgeCanvas, dom.vectorCanvas);
  const edges = (app.edges = new GraphEdges(app, edgeCanvas));
  const labels = (app.labels = new CentroidLabels(app, dom.overlay.parentNode, dom.overlay));

  const check = (label, key, testid, title) => {
    const box = h("input", { type: "checkbox", "data-testid": testid, "aria-label": label, title, on: { change: () => store.set({ [key]: box.checked }) } });
    return { box, row: h("label.row", { title }, box, h("span", {}, label)) };
  };
  const mode = h(
    "select",
    { "data-testid": "render-mode", "aria-label": "render mode", on: { change: () => store.set({ renderMode: mode.value }) } },
    h("option", { value: "points" }, "points"),
    h("option", { value: "smoke" }, "smoke (3D)"),
  );
  const smokeSet = (patch) => store.set({ smoke: { ...store.get().smoke, ...patch } });
  const density = h("input", { type: "range", min: 0.1, max: 5, step: 0.1, "data-testid": "smoke-density", "aria-label": "smoke density", on: { input: () => smokeSet({ density: +density.value }) } });
  const threshold = h("input", { type: "range", min: 0, max: 0.9, step: 0.01, "data-testid": "smoke-threshold", "aria-label": "smoke threshold", on: { input: () => smokeSet({ threshold: +threshold.value }) } });
  const grid = h(
    "select",
    { "data-testid": "smoke-grid", "aria-label": "smoke grid (GPU)", title: "voxels per side on the GPU (the CPU renderer uses 48)", on: { change: () => smokeSet({ grid: +grid.value }) } },
    [64, 96, 128].map((g) => h("option", { value: g }, `${g}³`)),
  );
  const smokeColor = h(
    "select",
    { "data-testid": "smoke-color", "aria-label": "smoke colour", on: { change: () => smokeSet({ color: smokeColor.value }) } },
    h("option", { value: "field" }, "colour by field / gene"),
    h("option", { value: "#4a6fd0" }, "single colour"),
  );
  const smokeRows = h(
    "div",
    {},
    h("div.row", {}, h("label", {}, "Density"), density),
    h("div.row", {}, h("label", {}, "Threshold"), threshold),
    h("div.row", {}, h("label", {}, "Grid"), grid),
    h("div.row", {}, h("label", {}, "Colour"), smokeColor),
  );
  const modeNote = h("div.muted", { "data-testid": "render-mode-note" });
  const lab = check("labels on data", "labels", "labels-toggle", "category names at each category's centroid (scanpy's legend_loc='on data')");
  const edg = check("neighbour graph", "edges", "edges-toggle", "obsp['connectivities'] as faint lines");
  const edgeNote = h("div.muted", { "data-testid": "edges-note" });
  const sort = check("expressing cells on top", "sortOrder", "sort-order", "continuous colours: higher values drawn over lower ones (scanpy's sort_order)");
  const zero = check("zeros in grey", "zeroNeutral", "zero-neutral", "continuous colours: cells whose value is exactly 0 in a neutral grey");
  const hasGraph = !!(app.identity && app.identity.neighbor_graph);
  edg.box.disabled = !hasGraph;
  if (!hasGraph) edgeNote.textContent = "No neighbour graph: store obsp['connectivities'] (scanpy.pp.neighbors) to draw it.";

  dom.sidebar.append(
    h(
      "section.section",
      { "data-testid": "plot-options" },
      h("h3", {}, "Plot"),
      h("div.row", {}, h("label", {}, "Render"), mode),
      modeNote,
      smokeRows,
      lab.row,
      edg.row,
      edgeNote,
      sort.row,
      zero.row,
    ),
  );

  const edgeText = () => {
    const d = edges.data;
    if (!d) return;
    edgeNote.textContent = d.sampled
      ? `${fmtInt(d.pairs.length / 2)} of ${fmtInt(d.total)} edges drawn (a fixed random sample; the viewer draws at most ${fmtInt(d.pairs.length / 2)})`
      : `${fmtInt(d.total)} edges`;
  };
  const applySmoke = (s) => {
    smoke.setOptions(s.renderMode === "smoke", s.smoke);
    app.requestRender();
  };
  const sync = (s) => {
    mode.value = s.renderMode;
    density.value = s.smoke.density;
    threshold.value = s.smoke.threshold;
    grid.value = s.smoke.grid;
    smokeColor.value = s.smoke.color === "field" ? "field" : "#4a6fd0";
    smokeRows.hidden = s.renderMode !== "smoke";
    modeNote.textContent = s.renderMode === "smoke" && s.dimension !== 3 ? "Smoke draws 3D embeddings; this view shows points until you switch to 3D." : "";
    lab.box.checked = s.labels;
    edg.box.checked = s.edges;
    sort.box.checked = s.sortOrder;
    zero.box.checked = s.zeroNeutral;
  };
  store.subscribe((s, changed) => {
    sync(s);
    if (changed.has("renderMode") || changed.has("smoke")) applySmoke(s);
    if (changed.has("labels")) labels.setOn(s.labels);
    if (changed.has("edges") || changed.has("theme"))
      edges.setOn(s.edges).then(edgeText, (e) => {
        store.set({ edges: false });
        app.fail(e, "could not load the neighbour graph");
      });
  });
  app.on("colors", () => {
    version++;
    labels.update();
    edges.draw();
  });
  // after every frame of the points (camera moves, resizes): labels and edges follow
  app.on("frame", () => {
    if (labels.on) labels.update();
    if (edges.on) edges.draw();
  });
  const s = store.get();
  sync(s);
  // options only: nothing is drawn yet, and a requested frame here would draw the points a
  // second time right after the first colored frame (tests/browser/test_viewer_frame_budget.py)
  smoke.setOptions(s.renderMode === "smoke", s.smoke);
  if (s.labels) labels.setOn(true);
  if (s.edges) edges.setOn(true).then(edgeText, (e) => app.fail(e, "could not load the neighbour graph"));
}
