// Selection (count, clear, proximity radius, KNN grow) and highlight groups organized in named
// pages (save the selection as a group of the active page; show/hide, re-select, delete).
import { h, fmtInt } from "./dom.js";
import { neighborSpaceLabel } from "../interaction/latentKnn.js";
import { addGroup, newPage, updateGroup } from "../state/groups.js";
import { selectCells, clearSelection } from "../state/selection.js";

// Strong colors that stand out against the field palettes.
const GROUP_COLORS = ["#ff1f5b", "#ffb000", "#00b8ff", "#8f00ff", "#00cd6c", "#000000"];

export function mountSelection(app, dom) {
  const { store } = app;
  const count = h("span", { "data-testid": "selection-count", "aria-live": "polite" }, "0");
  const clear = h("button", { "data-testid": "clear-selection", "aria-label": "clear the selection", on: { click: () => clearSelection(app.store) } }, "clear");
  const radius = h("input", {
    type: "number",
    min: 0,
    step: "any",
    "data-testid": "proximity-radius",
    "aria-label": "proximity radius in embedding units",
    title: "proximity tool (X) or Alt-click: select cells within this distance, in embedding units",
    on: { change: () => Number.isFinite(parseFloat(radius.value)) && store.set({ proximityRadius: Math.max(0, parseFloat(radius.value)) }) },
  });
  const k = h("input", { type: "number", min: 1, max: 200, step: 1, "data-testid": "knn-k", "aria-label": "number of nearest neighbours", on: { change: () => store.set({ knnK: Math.max(1, Math.round(+k.value) || 1) }) } });
  const grow = h(
    "button",
    { "data-testid": "knn-grow", title: `add the k nearest visible neighbours of every selected cell (${neighborSpaceLabel(app.identity.neighbors)})`, on: { click: () => app.neighborhoods.growKnn().catch((e) => app.fail(e, "KNN grow")) } },
    "grow by k-NN",
  );
  const name = h("input", { type: "text", placeholder: "group name", "data-testid": "group-name", "aria-label": "name for the new highlight group" });
  const save = h(
    "button",
    {
      "data-testid": "save-group",
      on: {
        click: () => {
          const s = store.get();
          if (!s.selection.length) return;
          const n = app.activeGroups().length;
          const color = GROUP_COLORS[n % GROUP_COLORS.length];
          addGroup(app, name.value.trim() || `group ${n + 1}`, s.selection, color);
          name.value = "";
        },
      },
    },
    "save as group",
  );
  const page = h("select", { "data-testid": "group-page", "aria-label": "highlight group page", on: { change: () => store.set({ activePage: +page.value }) } });
  const pageName = h("input", { type: "text", placeholder: "new page name", "data-testid": "page-name", "aria-label": "name for a new page of groups" });
  const addPage = h(
    "button",
    { "data-testid": "add-page", title: "a new, empty page of highlight groups", on: { click: () => (newPage(app, pageName.value.trim()), (pageName.value = "")) } },
    "+ page",
  );
  const groups = h("div", { "data-testid": "groups" });
  dom.sidebar.append(
    h(
      "section.section",
      {},
      h("h3", {}, "Selection"),
      h("div.row", {}, count, h("span.muted", {}, "cells selected"), clear),
      h("div.row", {}, h("label", {}, "Radius"), radius, h("span.muted", { "data-testid": "radius-units" }, "emb. units")),
      h("div.row", {}, h("label", {}, "k"), k, grow),
      h("div.row.muted", { "data-testid": "knn-space" }, neighborSpaceLabel(app.identity.neighbors)),
      h("div.row", {}, name, save),
    ),
    h("section.section", {}, h("h3", {}, "Highlight groups"), h("div.row", {}, h("label", {}, "Page"), page), h("div.row", {}, pageName, addPage), groups),
  );

  const render = (s) => {
    count.textContent = fmtInt(s.selection.length);
    if (document.activeElement !== radius) radius.value = app.neighborhoods.radius() ?? "";
    if (document.activeElement !== k) k.value = s.knnK;
    grow.disabled = !s.selection.length;
    page.replaceChildren(...s.groupPages.map((p) => h("option", { value: p.id, selected: p.id === s.activePage }, p.name)));
    page.value = s.activePage;
    groups.replaceChildren(
      ...app.activeGroups().map((g) =>
        h(
          "div.list-item",
          {},
          h("input", { type: "checkbox", checked: g.visible, title: "show/hide", "aria-label": `show group ${g.name}`, on: { change: (e) => updateGroup(app, g.id, { visible: e.target.checked }) } }),
          h("span.swatch", { style: { background: g.color, width: "10px", height: "10px", borderRadius: "50%", display: "inline-block" } }),
          h("span.label", { title: g.name }, `${g.name} (${fmtInt(g.cells.length)})`),
          h("button", { title: "select these cells", "aria-label": `select the cells of group ${g.name}`, on: { click: () => selectCells(app.store, g.cells, "group") } }, "select"),
          h("button", { title: "delete group", "aria-label": `delete group ${g.name}`, on: { click: () => store.set({ highlightGroups: store.get().highlightGroups.filter((x) => x.id !== g.id) }) } }, "×"),
        ),
      ),
    );
    if (!app.activeGroups().length) groups.append(h("div.muted", {}, "none on this page — select cells, then “save as group”"));
  };
  store.subscribe((s, changed) => ["selection", "highlightGroups", "groupPages", "activePage", "proximityRadius", "knnK", "embedding", "dimension"].some((x) => changed.has(x)) && render(s));
  app.on("colors", () => render(store.get()));
  render(store.get());
}
