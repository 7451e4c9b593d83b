// Help overlay with mouse controls and keyboard shortcuts, and the shortcuts themselves.
import { h } from "./dom.js";
import { clearSelection } from "../state/selection.js";

export const SHORTCUTS = [
  ["L", "lasso tool (drag to select; Shift adds, Alt removes)"],
  ["V", "pan tool"],
  ["X", "proximity tool (click a cell: select cells within the radius)"],
  ["K", "grow the selection by its k nearest neighbours"],
  ["Esc", "clear selection / close"],
  ["R", "reset view"],
  ["1 / 2 / 3", "1D / 2D / 3D"],
  ["O / P / F", "3D: orbit / planar / free-fly"],
  ["W A S D Q E", "free-fly: move"],
  ["+ / −", "larger / smaller points"],
  ["G", "vector field overlay on / off"],
  ["T", "dark / light theme"],
  ["B", "show / hide the side panel"],
  ["?", "this help"],
];

const MOUSE = [
  ["drag", "2D: pan · 3D: orbit (planar: pan; fly: look)"],
  ["right-drag / Shift-drag", "pan (3D)"],
  ["wheel", "zoom"],
  ["click a cell", "select it (Shift/Ctrl: add or remove)"],
  ["legend click", "hide / show a category"],
  ["legend Ctrl/Cmd-click", "select a category's cells (Shift adds)"],
  ["Alt-click a cell", "select cells within the proximity radius"],
  ["legend double-click", "isolate a category (again: show all)"],
];

export function mountHelp(app, dom) {
  const panel = h(
    "div.help",
    { hidden: true, "data-testid": "help-panel", on: { click: (e) => e.target === panel && (panel.hidden = true) } },
    h(
      "div.card",
      {},
      h("h3", {}, "cellucid — controls"),
      h("table", {}, MOUSE.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, v)))),
      h("h3", {}, "Keyboard"),
      h("table", {}, SHORTCUTS.map(([k, v]) => h("tr", {}, h("td", {}, ...k.split(" ").map((x) => [x === "/" ? "/" : h("kbd", {}, x), " "])), h("td", {}, v)))),
      h("p.muted", {}, "Filters: hide categories or set a range in the legend, then “+ filter from legend”."),
    ),
  );
  dom.stage.append(panel);
  const toggle = () => (panel.hidden = !panel.hidden);

  window.addEventListener("keydown", (e) => {
    if (e.target.closest && e.target.closest("input, select, textarea")) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const s = app.store.get();
    const k = e.key;
    if (s.dimension === 3 && s.navMode === "fly" && "wasdqeWASDQE".includes(k)) return;
    const act = {
      l: () => app.store.set({ tool: "lasso" }),
      v: () => app.store.set({ tool: "pan" }),
      x: () => app.store.set({ tool: "proximity" }),
      k: () => app.neighborhoods.growKnn().catch((err) => app.fail(err, "KNN grow")),
      Escape: () => (panel.hidden ? clearSelection(app.store) : (panel.hidden = true)),
      r: () => app.resetView(),
      1: () => trySet(app, 1),
      2: () => trySet(app, 2),
      3: () => trySet(app, 3),
      o: () => app.store.set({ navMode: "orbit" }),
      p: () => app.store.set({ navMode: "planar" }),
      f: () => app.store.set({ navMode: "fly" }),
      "+": () => app.store.set({ pointSize: Math.min(20, s.pointSize + 0.5) }),
      "=": () => app.store.set({ pointSize: Math.min(20, s.pointSize + 0.5) }),
      "-": () => app.store.set({ pointSize: Math.max(0.5, s.pointSize - 0.5) }),
      t: () => app.store.set({ theme: s.theme === "dark" ? "light" : "dark" }),
      g: () => app.store.set({ vectors: !s.vectors }),
      b: () => dom.sidebar.classList.toggle("collapsed"),
      "?": toggle,
      h: toggle,
    }[k.length === 1 ? k.toLowerCase() : k];
    if (act) {
      e.preventDefault();
      act();
    }
  });
  return { toggle };
}

function trySet(app, d) {
  try {
    app.setDimension(d);
  } catch (_) {
    /* this embedding has no such dimension: ignore the key */
  }
}
