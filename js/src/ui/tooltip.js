// Hover tooltip: the cell's name and field values from /_cellucid/api/cells?index=.
import { h, fmt } from "./dom.js";
import { api } from "../data/client.js";

export function mountTooltip(app, dom) {
  const tip = dom.tooltip;
  const cache = new Map();
  let current = null;
  let timer = null;

  const place = (xy) => {
    const W = dom.stage.clientWidth, H = dom.stage.clientHeight;
    const left = Math.min(xy[0] + 14, W - tip.offsetWidth - 4);
    const top = xy[1] + 14 + tip.offsetHeight > H ? xy[1] - tip.offsetHeight - 10 : xy[1] + 14;
    tip.style.left = `${Math.max(0, left)}px`;
    tip.style.top = `${Math.max(0, top)}px`;
  };

  const show = (info, xy) => {
    const s = app.store.get();
    const rows = Object.entries(info.fields || {}).slice(0, 12).map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, typeof v === "number" ? fmt(v) : v == null ? "NA" : String(v))));
    const extra = [];
    if (s.colorBy && s.colorBy.kind === "gene" && app.colorColumn && app.colorColumn.values) {
      extra.push(h("tr", {}, h("td", {}, s.colorBy.name), h("td", {}, fmt(app.colorColumn.values[info.index]))));
    }
    tip.replaceChildren(h("b", {}, info.name ?? `cell ${info.index}`), h("table", {}, ...extra, ...rows));
    tip.hidden = false;
    place(xy);
  };

  app.on("hover", (cell, at, e) => {
    clearTimeout(timer);
    // placed in stage coordinates: the hovered canvas may be any view of the grid (ui/views.js)
    const st = dom.stage.getBoundingClientRect();
    const xy = e && at ? [e.clientX - st.left, e.clientY - st.top] : at;
    current = cell;
    if (cell == null || !xy) {
      tip.hidden = true;
      return;
    }
    if (cache.has(cell)) return show(cache.get(cell), xy);
    // fetch after a short pause so sweeping the mouse does not flood the server
    timer = setTimeout(async () => {
      try {
        const r = await api.cells([cell]);
        const info = r.cells[0];
        if (cache.size > 500) cache.clear();
        cache.set(cell, info);
        if (current === cell) show(info, xy);
      } catch (e) {
        /* tooltips are best-effort; the status bar still shows the index */
      }
    }, 60);
  });
}
