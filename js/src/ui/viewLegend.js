// A snapshot's own color key, in a corner of its panel: the live view has the legend panel,
// but a snapshot colored by another field or gene would otherwise be unreadable. The same
// entries as the figure export's legend (figure/scene.js): categories with a visible cell,
// or the color bar with its limits.
import { h } from "./dom.js";
import { legendEntries } from "../figure/scene.js";

/** Categories listed before "+N more" (a corner, not a second legend panel). */
export const VIEW_LEGEND_MAX_ITEMS = 12;

/** Fill `box` with the key of `view` (a SnapshotView) over the shared hidden mask of `app`. */
export function renderViewLegend(box, app, view) {
  const L = legendEntries({ n: app.n, hidden: app.hidden, groups: [] }, { view, state: view.state });
  box.hidden = !L.items.length && !L.bar;
  if (box.hidden) return box.replaceChildren();
  const rows = [];
  if (L.bar) {
    const gradient = `linear-gradient(to right, ${L.bar.stops.join(", ")})`;
    rows.push(
      h("div.bar", { style: `background: ${gradient}` }),
      h("div.limits", {}, h("span", { "data-testid": "view-legend-lo" }, L.bar.lo), h("span", { "data-testid": "view-legend-hi" }, L.bar.hi)),
    );
  }
  for (const it of L.items.slice(0, VIEW_LEGEND_MAX_ITEMS)) {
    rows.push(h("div.item", { dataset: { name: it.name } }, h("span.swatch", { style: `background: ${it.color}` }), h("span", {}, it.name)));
  }
  if (L.items.length > VIEW_LEGEND_MAX_ITEMS) rows.push(h("div.more", {}, `+${L.items.length - VIEW_LEGEND_MAX_ITEMS} more`));
  box.replaceChildren(h("div.title", {}, L.title), ...rows);
}
