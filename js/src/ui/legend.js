// Legend for the current color: categorical (counts, click hides/shows, double-click isolates)
// or continuous (color bar, colormap, percentile clip, min/max inputs).
import { h, fmt, fmtInt } from "./dom.js";
import { categoryColors } from "../color/colorize.js";
import { COLORMAPS, lut, toHex } from "../color/palettes.js";

export function mountLegend(app, dom) {
  const el = dom.legend;
  // A click toggles after a short wait, so the two clicks of a double-click (isolate) do not
  // also toggle; a click on another item first applies the pending one.
  let pending = null;
  const click = (code) => {
    if (pending && pending.code === code) {
      clearTimeout(pending.timer); // second click of a double-click
      pending = null;
      return;
    }
    if (pending) {
      clearTimeout(pending.timer);
      app.toggleCategory(pending.code);
    }
    const p = { code, timer: setTimeout(() => pending === p && ((pending = null), app.toggleCategory(code)), 250) };
    pending = p;
  };
  const dblclick = (code) => {
    if (pending) clearTimeout(pending.timer);
    pending = null;
    app.isolateCategory(code);
  };

  const render = () => {
    const col = app.colorColumn;
    if (!col || col.kind === "none") return el.replaceChildren();
    const s = app.store.get();
    // clicking the title folds the legend (small notebook iframes need the room)
    const title = h(
      "div.title",
      {
        title: "click to fold / unfold the legend",
        role: "button",
        tabindex: 0,
        "aria-expanded": el.classList.contains("folded") ? "false" : "true",
        "aria-label": `legend: ${col.name}; fold or unfold`,
        style: { cursor: "pointer" },
        on: { click: () => (el.classList.toggle("folded"), render()), keydown: (e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), el.classList.toggle("folded"), render()) },
      },
      (el.classList.contains("folded") ? "▸ " : "▾ ") + (col.source === "gene" ? `${col.name} (gene)` : col.name),
    );
    if (col.kind === "categorical") {
      const colors = categoryColors(col);
      const counts = (col.meta && col.meta.counts) || [];
      const hidden = new Set(s.hiddenCategories[col.name] || []);
      const items = col.categories.map((name, code) => ({ name, code, color: colors[code], count: counts[code] }));
      if (col.meta && col.meta.n_missing) items.push({ name: "(missing)", code: -1, color: "#aaaaaa", count: col.meta.n_missing });
      el.replaceChildren(
        title,
        ...items.map((it) =>
          h(
            "div.item",
            {
              class: `item${hidden.has(it.code) ? " hidden" : ""}`,
              title: "click: hide/show · double-click: isolate · Ctrl/Cmd-click: select its cells (Shift adds)",
              role: "button",
              tabindex: 0,
              "aria-pressed": hidden.has(it.code) ? "false" : "true",
              "aria-label": `${it.name}: ${it.count != null ? fmtInt(it.count) + " cells, " : ""}${hidden.has(it.code) ? "hidden" : "shown"}. Enter hides or shows, Ctrl+Enter selects its cells`,
              dataset: { category: it.name },
              on: {
                click: (e) => (e.ctrlKey || e.metaKey ? app.selectCategory(it.code, e.shiftKey ? "add" : "new") : click(it.code)),
                dblclick: (e) => !(e.ctrlKey || e.metaKey) && dblclick(it.code),
                keydown: (e) => {
                  if (e.key !== "Enter" && e.key !== " ") return;
                  e.preventDefault();
                  if (e.ctrlKey || e.metaKey) app.selectCategory(it.code, e.shiftKey ? "add" : "new");
                  else app.toggleCategory(it.code);
                },
              },
            },
            h("span.swatch", { style: { background: it.color } }),
            h("span.name", {}, it.name),
            h("span.count", {}, it.count != null ? fmtInt(it.count) : ""),
          ),
        ),
        h("div.hint", {}, `${fmtInt(app.visibleCount)} of ${fmtInt(app.n)} cells shown`),
      );
      return;
    }
    // continuous
    const [lo, hi] = app.colorRangeNow();
    const table = lut(s.colormap);
    const stops = [];
    for (let i = 0; i <= 10; i++) {
      const t = Math.round((i / 10) * 255);
      stops.push(`${toHex([table[t * 3], table[t * 3 + 1], table[t * 3 + 2]])} ${i * 10}%`);
    }
    const cmap = h(
      "select",
      { "data-testid": "colormap", "aria-label": "color map", on: { change: () => app.store.set({ colormap: cmap.value }) } },
      Object.keys(COLORMAPS).map((k) => h("option", { value: k, selected: k === s.colormap }, k)),
    );
    const clip = h(
      "select",
      { title: "percentile clip", "aria-label": "percentile clip", on: { change: () => app.store.set({ clip: clip.value.split(",").map(Number), range: null }) } },
      [["0,100", "full range"], ["1,99", "1–99 %"], ["2,98", "2–98 %"], ["5,95", "5–95 %"]].map(([v, label]) =>
        h("option", { value: v, selected: v === s.clip.join(",") }, label),
      ),
    );
    const setRange = () => {
      const a = parseFloat(minIn.value), b = parseFloat(maxIn.value);
      if (Number.isFinite(a) && Number.isFinite(b)) app.store.set({ range: [a, b] });
    };
    const minIn = h("input", { type: "number", value: fmt(lo), step: "any", "data-testid": "range-min", "aria-label": "color range minimum", on: { change: setRange } });
    const maxIn = h("input", { type: "number", value: fmt(hi), step: "any", "data-testid": "range-max", "aria-label": "color range maximum", on: { change: setRange } });
    el.replaceChildren(
      title,
      h("div.bar", { style: { background: `linear-gradient(to right, ${stops.join(",")})` } }),
      h("div.range", {}, minIn, maxIn),
      h("div.row", {}, cmap, clip),
      h("div.hint", {}, `${fmtInt(app.visibleCount)} of ${fmtInt(app.n)} cells shown`),
    );
  };
  app.on("colors", render);
  app.store.subscribe((s, changed) => {
    if (changed.has("colormap") || changed.has("hiddenCategories")) render();
  });
  render(); // the first colors may be in already (panels are built after the first frame)
}
