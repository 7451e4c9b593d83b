// The figure as SVG: one <circle> per visible cell in draw order (density-reduced above
// SVG_FULL_MAX cells, see `buildSVG`), the live view's overlays, title, legend, provenance
// in <metadata>.
import { labelsSVG } from "./labels.js";
import { updatedIndex } from "../interaction/spatial.js";
import { figureTitle, legendEntries, panelGrid, panelTitle, provenance, themeColors } from "./scene.js";

/** Above this many visible cells the SVG is density-reduced (see buildSVG). */
export const SVG_FULL_MAX = 50000;

/**
 * An SVG string of the current view. Up to `maxCells` (default SVG_FULL_MAX) visible cells:
 * one <circle> per visible cell, in draw order (emphasized cells last, 3D far to near).
 * Above that: density-reduced — cells are binned into squares one point-diameter wide and
 * only the last-drawn cell of each (square, color) pair is kept, so the picture stays the
 * same at print size while the element count is bounded by the canvas area. The cell circles
 * sit in <g id="cells" data-cells="N" data-visible="M" data-reduced="0|1">.
 */
export function buildSVG(scene, { maxCells = SVG_FULL_MAX } = {}) {
  const panels = scene.panels;
  const g = panelGrid(panels);
  const { bg } = themeColors();
  const p = provenance(scene);
  const title = figureTitle(scene);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:cellucid="https://cellucid.org/ns/figure" width="${g.W}" height="${g.H}" viewBox="0 0 ${g.W} ${g.H}">`,
    `<title>${esc(title)}</title>`,
    `<metadata><cellucid:provenance ${Object.entries(p).map(([k, v]) => `cellucid:${k}="${esc(v)}"`).join(" ")}/></metadata>`,
    `<rect width="100%" height="100%" fill="${bg}"/>`,
  ];
  if (panels.length === 1) parts.push(...svgPanel(scene, panels[0], maxCells, false));
  else
    panels.forEach((q, k) => {
      const [x, y] = g.at(k);
      parts.push(`<g id="panel-${esc(q.id)}" data-view="${esc(q.id)}" transform="translate(${x},${y})">`, ...svgPanel(scene, q, maxCells, true), "</g>");
    });
  parts.push("</svg>");
  return parts.join("\n");
}

/**
 * One panel's cells, title and legend (SVG elements, panel-relative coordinates). Up to
 * `maxCells` visible cells: one <circle> per visible cell, in draw order (emphasized cells
 * last, 3D far to near); above that density-reduced (see buildSVG).
 */
function svgPanel(scene, panel, maxCells, titled) {
  const V = panel.view;
  const { width: w, height: h } = V.camera;
  const s = scene.state;
  const { fg } = themeColors();
  const r = s.pointSize / 2;
  const c = V.colors;
  const ch = s.crossHighlight && s.crossHighlight.cells.length ? s.crossHighlight.cells : [];
  const dim = s.selection.length > 0 || ch.length > 0;
  const emph = new Set([...s.selection, ...ch, ...scene.groups.flatMap((g) => [...g.cells])]);
  let order = [];
  const { n, hidden } = scene;
  for (let i = 0; i < n; i++) if (!hidden[i]) order.push(i);
  const visible = order.length;
  if (V.geom.dim === 3) {
    // painter's algorithm: far cells first
    const d = updatedIndex(V, scene).depth; // every view's index follows the shared hidden mask
    order.sort((a, b) => d[b] - d[a]);
  } else if (V.order) {
    // continuous colors: the renderer's value order (high values on top)
    const keep = new Uint8Array(n);
    for (const i of order) keep[i] = 1;
    order = Array.from(V.order).filter((i) => keep[i]);
  }
  order = [...order.filter((i) => !emph.has(i)), ...order.filter((i) => emph.has(i))];
  const items = [];
  for (const i of order) {
    const p = V.project(i);
    if (!p || p.x < -r || p.y < -r || p.x > w + r || p.y > h + r) continue;
    items.push([i, p.x, p.y]);
  }
  // smoke (render/smoke.js) has no circles: the live view's volume rendering is embedded as an image
  const live = V === scene.live;
  const { edges, labels, smokeRenderer } = scene.overlays;
  const smoke = live && smokeRenderer;
  if (smoke) items.length = 0;
  const reduced = items.length > maxCells;
  let drawn = items;
  if (reduced) {
    const cellPx = Math.max(1, 2 * r);
    const last = new Map();
    items.forEach((it, k) => {
      const i = it[0];
      const key = `${Math.floor(it[1] / cellPx)},${Math.floor(it[2] / cellPx)},${c[4 * i]},${c[4 * i + 1]},${c[4 * i + 2]},${emph.has(i) ? 1 : 0}`;
      last.set(key, k);
    });
    const keepIdx = [...last.values()].sort((a, b) => a - b);
    drawn = keepIdx.map((k) => items[k]);
  }
  const cellsId = titled ? `cells-${esc(panel.id)}` : "cells";
  const parts = [`<g id="${cellsId}" data-cells="${drawn.length}" data-visible="${visible}" data-reduced="${reduced ? 1 : 0}"${smoke ? ' data-smoke="1"' : ""}>`];
  if (smoke) {
    smokeRenderer.drawNow(); // the canvas holds the current smoke frame
    parts.push(`<image id="smoke" x="0" y="0" width="${w}" height="${h}" href="${smokeRenderer.canvas.toDataURL("image/png")}"/>`);
  }
  for (const [i, x, y] of drawn) {
    const hex = "#" + [c[4 * i], c[4 * i + 1], c[4 * i + 2]].map((v) => v.toString(16).padStart(2, "0")).join("");
    const op = s.opacity * (dim && !emph.has(i) ? 0.15 : 1);
    parts.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" fill="${hex}"${op < 1 ? ` fill-opacity="${op.toFixed(2)}"` : ""}/>`);
  }
  parts.push("</g>");
  if (live && edges) {
    const segs = edges.segments();
    const stroke = s.theme === "dark" ? "#e6e6f0" : "#141428";
    if (segs.length) parts.push(`<path id="edges" fill="none" stroke="${stroke}" stroke-opacity="0.22" stroke-width="1" d="${segs.map((q) => `M${q[0].toFixed(1)} ${q[1].toFixed(1)}L${q[2].toFixed(1)} ${q[3].toFixed(1)}`).join("")}"/>`);
  }
  if (live && labels) parts.push(labelsSVG(labels.layout(), s.theme === "dark", esc));
  if (titled) parts.push(`<rect width="${w}" height="${h}" fill="none" stroke="${fg}" stroke-opacity="0.25"/>`);
  parts.push(`<text id="${titled ? `title-${esc(panel.id)}` : "title"}" x="10" y="20" font-family="sans-serif" font-size="14" font-weight="600" fill="${fg}">${esc(panelTitle(scene, panel, titled))}</text>`);
  const L = legendEntries(scene, panel);
  const x = w - 160;
  let y = 20;
  const gid = titled ? `cbar-${esc(panel.id)}` : "cbar";
  parts.push(`<g id="${titled ? `legend-${esc(panel.id)}` : "legend"}" font-family="sans-serif" font-size="12" fill="${fg}">`);
  if (L.title) parts.push(`<text x="${x}" y="${y}" font-weight="600">${esc(L.title)}</text>`);
  const row = (name, color) => {
    y += 16;
    parts.push(`<circle cx="${x + 5}" cy="${y - 4}" r="5" fill="${color}"/><text x="${x + 15}" y="${y}">${esc(name)}</text>`);
  };
  for (const it of L.items) row(it.name, it.color);
  if (L.bar) {
    y += 8;
    parts.push(`<defs><linearGradient id="${gid}">${L.bar.stops.map((col, k) => `<stop offset="${k * 10}%" stop-color="${col}"/>`).join("")}</linearGradient></defs>`);
    parts.push(`<rect x="${x}" y="${y}" width="140" height="10" fill="url(#${gid})"/>`);
    y += 24;
    parts.push(`<text x="${x}" y="${y}">${esc(L.bar.lo)}</text><text x="${x + 140}" y="${y}" text-anchor="end">${esc(L.bar.hi)}</text>`);
  }
  for (const g of L.groups) row(g.name, g.color);
  parts.push("</g>");
  return parts;
}

const esc = (s) => String(s).replace(/[<>&"']/g, (ch) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[ch]);
