// Legend for the current color: categorical (counts, click hides/shows, double-click isolates)
// or continuous (color bar, colormap, percentile clip, min/max inputs).
import { h, fmt, fmtInt } from "./dom.js";
import { categoryColors } from "../color/colorize.js";
import { COLORMAPS, lut, toHex } from "../color/palettes.js";
import { categoryCells, setCrossHighlight, endCrossHover, selectedPerCategory } from "../state/cross.js";
import { toggleCategory, isolateCategory } from "../state/categories.js";
import { selectCategory } from "../state/selection.js";

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
      toggleCategory(app.store, app.colorColumn, pending.code);
    }
    const p = { code, timer: setTimeout(() => pending === p && ((pending = null), toggleCategory(app.store, app.colorColumn, code)), 250) };
    pending = p;
  };
  const dblclick = (code) => {
    if (pending) clearTimeout(pending.timer);
    pending = null;
    isolateCategory(app.store, app.colorColumn, code);
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
      // with a selection: each category's share of it ("312 of 2,525")
      const sel = s.selection.length ? selectedPerCategory(col, s.selection) : null;
      const K = col.categories.length;
      const ch = s.crossHighlight;
      // hovering an entry cross-highlights its cells in every view; the pin keeps it on
      const label = (it) => `${col.name}: ${it.name}`;
      const cross = (it, pinned) => setCrossHighlight(app.store, label(it), categoryCells(col, it.code, app.n), pinned);
      el.replaceChildren(
        title,
        ...items.map((it) =>
          h(
            "div.item",
            {
              class: `item${hidden.has(it.code) ? " hidden" : ""}${ch && ch.label === label(it) ? " crossed" : ""}`,
              title: "click: hide/show · double-click: isolate · Ctrl/Cmd-click: select its cells (Shift adds)",
              role: "button",
              tabindex: 0,
              "aria-pressed": hidden.has(it.code) ? "false" : "true",
              "aria-label": `${it.name}: ${it.count != null ? fmtInt(it.count) + " cells, " : ""}${hidden.has(it.code) ? "hidden" : "shown"}. Enter hides or shows, Ctrl+Enter selects its cells`,
              dataset: { category: it.name },
              on: {
                mouseenter: () => cross(it, false),
                mouseleave: () => endCrossHover(app.store),
                // keyboard users get the same highlight on focus
                focus: () => cross(it, false),
                blur: () => endCrossHover(app.store),
                click: (e) => (e.ctrlKey || e.metaKey ? selectCategory(app.store, app.colorColumn, app.hidden, app.n, it.code, e.shiftKey ? "add" : "new") : click(it.code)),
                dblclick: (e) => !(e.ctrlKey || e.metaKey) && dblclick(it.code),
                keydown: (e) => {
                  if (e.key !== "Enter" && e.key !== " ") return;
                  e.preventDefault();
                  if (e.ctrlKey || e.metaKey) selectCategory(app.store, app.colorColumn, app.hidden, app.n, it.code, e.shiftKey ? "add" : "new");
                  else toggleCategory(app.store, app.colorColumn, it.code);
                },
              },
            },
            h("span.swatch", { style: { background: it.color } }),
            h("span.name", {}, it.name),
            h("span.count", { "data-selected": sel ? sel[it.code === -1 ? K : it.code] : null }, sel ? `${fmtInt(sel[it.code === -1 ? K : it.code])} of ${fmtInt(it.count ?? 0)}` : it.count != null ? fmtInt(it.count) : ""),
            h(
              "button.pin",
              {
                class: `pin${ch && ch.pinned && ch.label === label(it) ? " on" : ""}`,
                title: "pin: keep these cells highlighted in every view (click again to unpin)",
                "aria-label": `pin the highlight of ${it.name}`,
                "aria-pressed": ch && ch.pinned && ch.label === label(it) ? "true" : "false",
                on: { click: (e) => (e.stopPropagation(), cross(it, true)), dblclick: (e) => e.stopPropagation() },
              },
            ),
          ),
        ),
        h("div.hint", {}, sel ? `${fmtInt(s.selection.length)} selected · ${fmtInt(app.visibleCount)} of ${fmtInt(app.n)} cells shown` : `${fmtInt(app.visibleCount)} of ${fmtInt(app.n)} cells shown`),
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
  const markCrossed = (ch) => {
    const col = app.colorColumn;
    for (const row of el.querySelectorAll(".item")) {
      const on = !!ch && !!col && ch.label === `${col.name}: ${row.dataset.category}`;
      row.classList.toggle("crossed", on);
      const pin = row.querySelector(".pin");
      if (pin) {
        pin.classList.toggle("on", on && ch.pinned);
        pin.setAttribute("aria-pressed", on && ch.pinned ? "true" : "false");
      }
    }
  };
  app.on("colors", render);
  app.store.subscribe((s, changed) => {
    if (["colormap", "hiddenCategories", "selection"].some((k) => changed.has(k))) render();
    // only the highlighted entry's look changes: no rebuild (it would drop the hovered row's :hover)
    else if (changed.has("crossHighlight")) markCrossed(s.crossHighlight);
  });
  render(); // the first colors may be in already (panels are built after the first frame)
}
