// The panel's other plots: the marker dot plot (SVG, one row per category), the scatter of
// two columns (canvas, chunked) and the violin/box of one column per category (canvas).
import { interpolateViridis } from "d3-scale-chromatic";
import { h, fmt } from "../dom.js";
import { sized, themeColors, scale, axes, drawChunked, nextTask } from "./canvas.js";

const SVG = "http://www.w3.org/2000/svg";
const svgEl = (tag, attrs = {}) => {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
};

/**
 * Dot plot of a /analysis/dotplot answer: a row per category, a column per gene; the dot's
 * area is the fraction of cells expressing, its colour the mean (scaled per gene, viridis).
 */
export function dotPlot(d) {
  const rh = 18, left = 96, top = 64;
  // columns narrow down to fit the panel (410 px), then the plot scrolls sideways
  const cw = Math.max(12, Math.min(22, Math.floor((410 - left - 8) / Math.max(1, d.genes.length))));
  const w = left + d.genes.length * cw + 8, hgt = top + d.groups.length * rh + 8;
  const svg = svgEl("svg", { width: w, height: hgt, "data-testid": "dotplot", class: "dotplot" });
  const colMax = d.genes.map((_, j) => Math.max(1e-12, ...d.mean.map((r) => r[j] ?? 0)));
  d.genes.forEach((g, j) => {
    const t = svgEl("text", { x: left + j * cw + cw / 2, y: top - 4, transform: `rotate(-60 ${left + j * cw + cw / 2} ${top - 4})`, class: "dot-gene" });
    t.textContent = g;
    svg.append(t);
  });
  d.groups.forEach((grp, i) => {
    const row = svgEl("g", { "data-testid": "dot-row", "data-group": grp });
    const t = svgEl("text", { x: left - 4, y: top + i * rh + rh / 2 + 4, "text-anchor": "end", class: "dot-label" });
    t.textContent = grp;
    row.append(t);
    d.genes.forEach((g, j) => {
      const frac = d.fraction[i][j] ?? 0, mean = d.mean[i][j] ?? 0;
      const c = svgEl("circle", { cx: left + j * cw + cw / 2, cy: top + i * rh + rh / 2, r: Math.max(0.5, Math.sqrt(frac) * (rh / 2 - 1)), fill: interpolateViridis(mean / colMax[j]) });
      const tip = svgEl("title");
      tip.textContent = `${g} in ${grp}: mean ${fmt(mean)}, ${fmt(100 * frac)}% expressing`;
      c.append(tip);
      row.append(c);
    });
    svg.append(row);
  });
  return svg;
}

/** Scatter of x against y (Float32Arrays, one value per cell; at most `maxPoints` drawn, evenly). */
export function drawScatter(canvas, x, y, xName, yName, maxPoints = 50000) {
  const W = 400, H = 260, box = { l: 34, t: 8, r: W - 8, b: H - 30 };
  const ctx = sized(canvas, W, H);
  const c = themeColors();
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < x.length; i++) {
    if (Number.isFinite(x[i]) && Number.isFinite(y[i])) {
      if (x[i] < x0) x0 = x[i];
      if (x[i] > x1) x1 = x[i];
      if (y[i] < y0) y0 = y[i];
      if (y[i] > y1) y1 = y[i];
    }
  }
  if (!(x0 <= x1)) (x0 = 0), (x1 = 1), (y0 = 0), (y1 = 1);
  axes(ctx, box, [x0, x1], [y0, y1], xName, yName, c);
  const sx = scale(x0, x1, box.l + 2, box.r - 2), sy = scale(y0, y1, box.b - 2, box.t + 2);
  const step = Math.max(1, Math.ceil(x.length / maxPoints));
  const n = Math.ceil(x.length / step);
  canvas.dataset.points = String(n);
  ctx.fillStyle = c.accent;
  ctx.globalAlpha = 0.35;
  return drawChunked(canvas, ctx, n, (g, k) => {
    const i = k * step;
    if (Number.isFinite(x[i]) && Number.isFinite(y[i])) g.fillRect(sx(x[i]) - 1, sy(y[i]) - 1, 2, 2);
  });
}

function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Per category: n, quartiles (linear interpolation, as numpy's default) and a 32-bin density
 * of `values`. One category per task, so a million cells never hold the page.
 */
export async function violinStats(values, codes, categories, missing, isCurrent = () => true) {
  const k = categories.length;
  const counts = new Int32Array(k);
  for (let i = 0; i < codes.length; i++) if (codes[i] !== missing && codes[i] < k && Number.isFinite(values[i])) counts[codes[i]]++;
  const parts = Array.from(counts, (c) => new Float32Array(c));
  const fill = new Int32Array(k);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c !== missing && c < k && Number.isFinite(values[i])) parts[c][fill[c]++] = values[i];
  }
  let lo = Infinity, hi = -Infinity;
  for (const p of parts) for (const v of p) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  if (!(lo <= hi)) (lo = 0), (hi = 1);
  const out = [];
  for (let c = 0; c < k; c++) {
    if (!isCurrent()) return null;
    const s = parts[c].sort();
    const bins = new Float64Array(32);
    for (const v of s) bins[Math.min(31, Math.floor(((v - lo) / (hi - lo || 1)) * 32))]++;
    out.push({ name: categories[c], n: s.length, q1: quantile(s, 0.25), median: quantile(s, 0.5), q3: quantile(s, 0.75), bins });
    await nextTask();
  }
  return { lo, hi, groups: out };
}

/** Draw violins (density outline) with a box (quartiles) and the median, one per category. */
export function drawViolins(canvas, st, title) {
  const cw = Math.max(18, Math.min(48, 360 / Math.max(1, st.groups.length)));
  const W = 40 + st.groups.length * cw + 8, H = 240, box = { l: 34, t: 8, r: W - 8, b: H - 60 };
  const ctx = sized(canvas, W, H);
  const c = themeColors();
  axes(ctx, box, [0, 0], [st.lo, st.hi], "", title, c);
  const sy = scale(st.lo, st.hi, box.b, box.t);
  st.groups.forEach((g, j) => {
    const cx = box.l + j * cw + cw / 2;
    const peak = Math.max(1, ...g.bins);
    ctx.beginPath();
    for (let b = 0; b < 32; b++) ctx.lineTo(cx + (g.bins[b] / peak) * (cw / 2 - 2), sy(st.lo + ((b + 0.5) / 32) * (st.hi - st.lo)));
    for (let b = 31; b >= 0; b--) ctx.lineTo(cx - (g.bins[b] / peak) * (cw / 2 - 2), sy(st.lo + ((b + 0.5) / 32) * (st.hi - st.lo)));
    ctx.closePath();
    ctx.fillStyle = "rgba(47,111,222,0.25)";
    ctx.fill();
    if (g.n) {
      ctx.fillStyle = c.fg;
      ctx.fillRect(cx - 3, sy(g.q3), 6, Math.max(1, sy(g.q1) - sy(g.q3)));
      ctx.fillStyle = "#fff";
      ctx.fillRect(cx - 3, sy(g.median) - 1, 6, 2);
    }
    ctx.save();
    ctx.translate(cx, box.b + 6);
    ctx.rotate(-Math.PI / 3);
    ctx.fillStyle = c.muted;
    ctx.textAlign = "right";
    ctx.fillText(g.name.length > 12 ? g.name.slice(0, 11) + "…" : g.name, 0, 0);
    ctx.restore();
  });
}

/** A compact table of the violin numbers (what the plot shows, readable and testable). */
export function violinTable(st) {
  return h(
    "table.an-small",
    { "data-testid": "violin-table" },
    h("tr", {}, h("th", {}, "category"), h("th", {}, "n"), h("th", {}, "median"), h("th", {}, "IQR")),
    st.groups.map((g) =>
      h("tr", { "data-testid": "violin-row", "data-group": g.name, "data-median": String(g.median), "data-n": String(g.n) }, h("td", {}, g.name), h("td", {}, String(g.n)), h("td", {}, fmt(g.median)), h("td", {}, `${fmt(g.q1)}–${fmt(g.q3)}`)),
    ),
  );
}
