// Toolbar over the canvas: sidebar toggle, 1D/2D/3D, 3D navigation mode, pan/lasso tool,
// reset view, export, session, help.
import { h } from "./dom.js";
import { exportPNG, exportSVG } from "./export.js";
import { saveSession, loadSessionFile } from "../state/session.js";

export function mountToolbar(app, dom, { toggleHelp }) {
  const { store } = app;
  // every button gets an accessible name (its title), since several labels are symbols
  const btn = (label, title, onClick, testid) => h("button", { title, "aria-label": title, "data-testid": testid, on: { click: onClick } }, label);

  const dims = {};
  const dimGroup = h("div.group", {}, [1, 2, 3].map((d) => (dims[d] = btn(`${d}D`, `show in ${d}D (key ${d})`, () => app.setDimension(d), `dim-${d}`))));
  const navs = {};
  const navGroup = h(
    "div.group",
    {},
    [["orbit", "orbit: drag rotates (O)"], ["planar", "planar: drag pans (P)"], ["fly", "free-fly: drag looks, WASD/QE moves (F)"]].map(
      ([m, t]) => (navs[m] = btn(m, t, () => store.set({ navMode: m }), `nav-${m}`)),
    ),
  );
  const tools = {
    pan: btn("✥ pan", "drag moves the view", () => store.set({ tool: "pan" }), "tool-pan"),
    lasso: btn("◌ lasso", "drag draws a lasso (L); Shift adds, Alt removes", () => store.set({ tool: "lasso" }), "tool-lasso"),
    proximity: btn("◎ proximity", "click a cell: select all cells within the radius set in the side panel (X); Shift adds. Alt-click does this with any tool", () => store.set({ tool: "proximity" }), "tool-proximity"),
  };
  const scale = h(
    "select",
    { "data-testid": "png-scale", "aria-label": "PNG export scale", title: "PNG size: 1×–4× the canvas" },
    [1, 2, 3, 4].map((k) => h("option", { value: k }, `${k}×`)),
  );
  const vec = btn("➶ vectors", "animate the vector field (velocity) over the cells (G)", () => store.set({ vectors: !store.get().vectors }), "vectors");
  const fileInput = h("input", { type: "file", accept: ".json,application/json", hidden: true, on: { change: () => fileInput.files[0] && loadSessionFile(app, fileInput.files[0]) } });
  dom.toolbar.append(
    h("div.group", {}, btn("☰", "show/hide the side panel", () => dom.sidebar.classList.toggle("collapsed"), "toggle-sidebar")),
    dimGroup,
    navGroup,
    h("div.group", {}, tools.pan, tools.lasso, tools.proximity),
    h("div.group", {}, btn("⟲ reset", "reset view (R)", () => app.resetView(), "reset-view")),
    h("div.group", {}, vec),
    h(
      "div.group",
      {},
      btn("PNG", "export the view as PNG at the chosen scale", () => exportPNG(app, +scale.value), "export-png"),
      scale,
      btn("SVG", "export the view as SVG", () => exportSVG(app), "export-svg"),
    ),
    h(
      "div.group",
      {},
      btn("save", "save the session (view, colors, filters, selection, groups) to a file", () => saveSession(app), "session-save"),
      btn("load", "restore a saved session file", () => fileInput.click(), "session-load"),
    ),
    h("div.group", {}, btn("?", "help and keyboard shortcuts (?)", toggleHelp, "help")),
    fileInput,
  );

  const sync = (s) => {
    const info = app.identity.embeddings.find((e) => e.key === s.embedding);
    for (const d of [1, 2, 3]) {
      dims[d].hidden = !info || !info.dimensions.includes(d);
      dims[d].classList.toggle("active", s.dimension === d);
    }
    navGroup.hidden = s.dimension !== 3;
    for (const [m, b] of Object.entries(navs)) b.classList.toggle("active", s.navMode === m);
    for (const [t, b] of Object.entries(tools)) b.classList.toggle("active", s.tool === t);
    dom.canvas.classList.toggle("lasso", s.tool === "lasso" || s.tool === "proximity");
    vec.parentElement.hidden = !app.vectors.field();
    vec.classList.toggle("active", !!s.vectors);
  };
  store.subscribe(sync);
  sync(store.get());
}
