// Selection count + clear, and highlight groups (save the selection as a named group, show/hide).
import { h, fmtInt } from "./dom.js";
import { newId } from "../state/store.js";

// Strong colors that stand out against the field palettes.
const GROUP_COLORS = ["#ff1f5b", "#ffb000", "#00b8ff", "#8f00ff", "#00cd6c", "#000000"];

export function mountSelection(app, dom) {
  const count = h("span", { "data-testid": "selection-count" }, "0");
  const clear = h("button", { "data-testid": "clear-selection", on: { click: () => app.clearSelection() } }, "clear");
  const name = h("input", { type: "text", placeholder: "group name", "data-testid": "group-name" });
  const save = h(
    "button",
    {
      "data-testid": "save-group",
      on: {
        click: () => {
          const s = app.store.get();
          if (!s.selection.length) return;
          const n = s.highlightGroups.length;
          const color = GROUP_COLORS[n % GROUP_COLORS.length];
          addGroup(app, name.value.trim() || `group ${n + 1}`, s.selection, color);
          name.value = "";
        },
      },
    },
    "save as group",
  );
  const groups = h("div", { "data-testid": "groups" });
  dom.sidebar.append(
    h("section.section", {}, h("h3", {}, "Selection"), h("div.row", {}, count, h("span.muted", {}, "cells selected"), clear), h("div.row", {}, name, save)),
    h("section.section", {}, h("h3", {}, "Highlight groups"), groups),
  );

  const render = (s) => {
    count.textContent = fmtInt(s.selection.length);
    groups.replaceChildren(
      ...s.highlightGroups.map((g) =>
        h(
          "div.list-item",
          {},
          h("input", { type: "checkbox", checked: g.visible, title: "show/hide", on: { change: (e) => updateGroup(app, g.id, { visible: e.target.checked }) } }),
          h("span.swatch", { style: { background: g.color, width: "10px", height: "10px", borderRadius: "50%", display: "inline-block" } }),
          h("span.label", { title: g.name }, `${g.name} (${fmtInt(g.cells.length)})`),
          h("button", { title: "select these cells", on: { click: () => app.select(g.cells, "group") } }, "select"),
          h("button", { title: "delete group", on: { click: () => app.store.set({ highlightGroups: app.store.get().highlightGroups.filter((x) => x.id !== g.id) }) } }, "×"),
        ),
      ),
    );
    if (!s.highlightGroups.length) groups.append(h("div.muted", {}, "none — select cells, then “save as group”"));
  };
  app.store.subscribe((s, changed) => (changed.has("selection") || changed.has("highlightGroups")) && render(s));
  render(app.store.get());
}

/** Add (or replace, by name) a highlight group. */
export function addGroup(app, name, cells, color) {
  const groups = app.store.get().highlightGroups.filter((g) => g.name !== name);
  groups.push({ id: newId(), name, color, cells: Uint32Array.from(cells), visible: true });
  app.store.set({ highlightGroups: groups });
}

function updateGroup(app, id, patch) {
  app.store.set({ highlightGroups: app.store.get().highlightGroups.map((g) => (g.id === id ? { ...g, ...patch } : g)) });
}
