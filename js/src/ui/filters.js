// Filters: turn the current legend state into a lasting filter (categories shown, or the
// continuous min/max range), list them, remove them, and select the filtered cells.
import { h, fmt, fmtInt } from "./dom.js";
import { newId } from "../state/store.js";
import { indicesWhere0 } from "../state/sets.js";
import { selectCells } from "../state/selection.js";

export function mountFilters(app, dom) {
  const list = h("div", { "data-testid": "filters" });
  const count = h("div.muted", { "data-testid": "visible-count" });
  const add = h("button", { "data-testid": "add-filter", title: "keep only the cells the legend currently shows", on: { click: () => addFromLegend(app) } }, "+ filter from legend");
  const selectVisible = h(
    "button",
    { title: "select every cell that passes the filters", on: { click: () => selectCells(app.store, indicesWhere0(app.hidden), "filter") } },
    "select shown",
  );
  dom.sidebar.append(h("section.section", {}, h("h3", {}, "Filters"), list, h("div.row", {}, add, selectVisible), count));

  const render = () => {
    const s = app.store.get();
    list.replaceChildren(
      ...s.filters.map((f) =>
        h(
          "div.list-item",
          {},
          h("span.label", { title: f.label }, f.label),
          h("button", { title: "remove filter", "aria-label": `remove filter ${f.label}`, on: { click: () => app.store.set({ filters: app.store.get().filters.filter((g) => g.id !== f.id) }) } }, "×"),
        ),
      ),
    );
    if (!s.filters.length) list.append(h("div.muted", {}, "none"));
    count.textContent = `${fmtInt(app.visibleCount)} of ${fmtInt(app.n)} cells visible`;
  };
  app.on("colors", render);
  app.store.subscribe((s, changed) => changed.has("filters") && render());
  render(); // the first colors may be in already (panels are built after the first frame)
}

function addFromLegend(app) {
  const col = app.colorColumn;
  const s = app.store.get();
  if (!col || col.kind === "none") return;
  let f;
  if (col.kind === "categorical") {
    const hidden = new Set(s.hiddenCategories[col.name] || []);
    const keep = new Set(col.categories.map((_, i) => i).filter((i) => !hidden.has(i)));
    if (!hidden.has(-1)) keep.add(-1);
    const names = [...keep].filter((c) => c >= 0).map((c) => col.categories[c]);
    f = { id: newId(), field: col.name, source: col.source, spec: col.spec, kind: "categorical", keep, column: col, label: `${col.name} ∈ {${names.join(", ")}}` };
    // the legend's hidden categories now live in the filter
    app.store.set({ filters: [...s.filters, f], hiddenCategories: { ...s.hiddenCategories, [col.name]: [] } });
    return;
  }
  const [min, max] = app.colorRangeNow();
  f = { id: newId(), field: col.name, source: col.source, spec: col.spec, kind: "continuous", min, max, column: col, label: `${col.name} in [${fmt(min)}, ${fmt(max)}]` };
  app.store.set({ filters: [...s.filters, f] });
}
