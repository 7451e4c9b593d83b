// Figure export, WYSIWYG: what the canvas shows (filtered / hidden cells left out, selection
// and highlight groups as drawn), plus a title and the legend, with provenance embedded.
//   PNG: the WebGL view re-rendered at 1×–4× the canvas' CSS size, title and legend drawn on
//        top, provenance in tEXt chunks.
//   SVG: one <circle> per visible cell in draw order (density-reduced above SVG_FULL_MAX
//        cells, see `buildSVG`), title, legend, provenance in <metadata>.
import { categoryColors } from "../color/colorize.js";
import { lut, toHex } from "../color/palettes.js";
import { fmt } from "./dom.js";
import { drawLabels2D, labelsSVG } from "./labels.js";

/** Above this many visible cells the SVG is density-reduced (see buildSVG). */
export const SVG_FULL_MAX = 50000;

export function download(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function baseName(app) {
  const s = app.store.get();
  return `cellucid_${app.identity.name}_${s.colorBy ? s.colorBy.name : "cells"}`.replace(/[^\w.-]+/g, "_");
}

/** Where a figure came from: embedded in PNG tEXt chunks and SVG <metadata>. */
export function provenance(app) {
  const s = app.store.get();
  return {
    dataset_id: app.identity.id,
    dataset_name: app.identity.name,
    field: s.colorBy ? s.colorBy.name : "",
    field_kind: s.colorBy ? s.colorBy.kind : "",
    embedding: s.embedding,
    dimension: String(s.dimension),
    visible_cells: String(app.visibleCount),
    date: new Date().toISOString(),
    cellucid_version: app.identity.cellucid_version || "",
  };
}

/** The live view as a figure panel (the layout is single, or there are no views yet). */
function livePanel(app) {
  const s = app.store.get();
  return { id: "live", view: app, state: { name: "live", colorBy: s.colorBy, embedding: s.embedding, dimension: s.dimension, colormap: s.colormap } };
}

/** The figure's panels: one per view shown (ui/views.js), the live one first. */
export function figurePanels(app) {
  return app.viewManager ? app.viewManager.panels() : [livePanel(app)];
}

function figureTitle(app, s = app.store.get()) {
  const what = s.colorBy ? `${s.colorBy.name}${s.colorBy.kind === "gene" ? " (gene)" : ""}` : "cells";
  return `${app.identity.name} — ${what} · ${s.embedding} ${s.dimension}D`;
}

/** What the legend shows: visible categories (with ≥ 1 visible cell), a color bar, visible groups. */
export function legendEntries(app, panel = livePanel(app)) {
  const V = panel.view;
  const col = V.colorColumn;
  const s = panel.state;
  const out = { title: col && col.kind !== "none" ? col.name : "", items: [], bar: null, groups: [] };
  if (col && col.kind === "categorical") {
    const colors = categoryColors(col);
    const seen = new Uint8Array(col.categories.length);
    for (let i = 0; i < app.n; i++) if (!app.hidden[i] && col.codes[i] !== col.missing) seen[col.codes[i]] = 1;
    col.categories.forEach((name, k) => seen[k] && out.items.push({ name, color: colors[k] }));
  } else if (col && col.kind === "continuous") {
    const [lo, hi] = V.colorRangeNow();
    const table = lut(s.colormap);
    const stops = [];
    for (let i = 0; i <= 10; i++) {
      const t = Math.round((i / 10) * 255);
      stops.push(toHex([table[t * 3], table[t * 3 + 1], table[t * 3 + 2]]));
    }
    out.bar = { lo: fmt(lo), hi: fmt(hi), stops };
  }
  out.groups = app.activeGroups().filter((g) => g.visible).map((g) => ({ name: g.name, color: g.color }));
  return out;
}

// ---------------------------------------------------------------- PNG

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Insert tEXt chunks (Latin-1; other characters become "?") right after IHDR. */
export function addPngText(png, entries) {
  const chunks = [];
  for (const [key, value] of Object.entries(entries)) {
    const text = `${key}\0${value}`;
    const data = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) data[i] = text.charCodeAt(i) < 256 ? text.charCodeAt(i) : 63;
    const chunk = new Uint8Array(12 + data.length);
    const dv = new DataView(chunk.buffer);
    dv.setUint32(0, data.length);
    chunk.set([116, 69, 88, 116], 4); // "tEXt"
    chunk.set(data, 8);
    dv.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
    chunks.push(chunk);
  }
  const at = 8 + 25; // signature + IHDR
  const total = png.length + chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(total);
  out.set(png.subarray(0, at), 0);
  let k = at;
  for (const c of chunks) (out.set(c, k), (k += c.length));
  out.set(png.subarray(at), k);
  return out;
}

/** Where each panel goes in a figure: two columns when there are several (CSS px). */
function panelGrid(panels) {
  const cols = panels.length > 1 ? 2 : 1;
  const w = Math.max(...panels.map((p) => p.view.camera.width));
  const h = Math.max(...panels.map((p) => p.view.camera.height));
  return { cols, w, h, W: cols * w, H: Math.ceil(panels.length / cols) * h, at: (k) => [(k % cols) * w, Math.floor(k / cols) * h] };
}

/** One panel re-rendered at `scale` onto `ctx` at (x, y) device px, with its title and legend. */
function drawPanelPNG(app, panel, ctx, scale, x, y, titled) {
  const V = panel.view;
  const r = V.renderer;
  const gl = r.canvas;
  const W = Math.round(V.camera.width * scale), H = Math.round(V.camera.height * scale);
  const saved = { w: gl.width, h: gl.height, dpr: r.params.dpr };
  try {
    gl.width = W;
    gl.height = H;
    r.params.dpr = scale; // point sizes scale with the figure
    r.draw();
    ctx.drawImage(gl, x, y);
  } finally {
    gl.width = saved.w;
    gl.height = saved.h;
    r.params.dpr = saved.dpr;
    r.draw();
  }
  if (V === app && app.vectorOverlay.running) ctx.drawImage(app.vectorOverlay.canvas, x, y, W, H);
  ctx.save();
  ctx.translate(x, y);
  if (V === app) {
    // neighbour-graph edges and centroid labels (ui/plotOptions.js), as on screen: the live view's
    if (app.edges && app.edges.on && app.edges.data) app.edges.stroke(ctx, scale);
    if (app.labels && app.labels.on) drawLabels2D(ctx, app.labels.layout(), scale, app.store.get().theme === "dark");
  }
  drawLegend2D(app, ctx, scale, W, panel, titled);
  ctx.restore();
}

/** The figure as PNG bytes at `scale` × the canvas' CSS size (1–4): one panel per view shown. */
export async function buildPNG(app, scale = 1) {
  scale = Math.max(1, Math.min(4, Number(scale) || 1));
  const panels = figurePanels(app);
  const g = panelGrid(panels);
  const out = document.createElement("canvas");
  out.width = Math.round(g.W * scale);
  out.height = Math.round(g.H * scale);
  const ctx = out.getContext("2d");
  if (panels.length > 1) {
    ctx.fillStyle = `rgb(${(app.bg || [1, 1, 1]).map((v) => Math.round(v * 255)).join(",")})`;
    ctx.fillRect(0, 0, out.width, out.height);
  }
  panels.forEach((p, k) => {
    const [x, y] = g.at(k);
    drawPanelPNG(app, p, ctx, scale, Math.round(x * scale), Math.round(y * scale), panels.length > 1);
  });
  const blob = await new Promise((res) => out.toBlob(res, "image/png"));
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const p = provenance(app);
  if (panels.length > 1) p.views = panels.map((q) => `${q.state.name}: ${figureTitle(app, q.state)}`).join(" | ");
  return addPngText(bytes, {
    Title: figureTitle(app),
    Software: `cellucid ${p.cellucid_version}`,
    "Creation Time": p.date,
    Source: p.dataset_id,
    ...Object.fromEntries(Object.entries(p).map(([k, v]) => [`cellucid:${k}`, v])),
  });
}

function drawLegend2D(app, ctx, k, W, panel = livePanel(app), titled = false) {
  const css = getComputedStyle(document.documentElement);
  const fg = css.getPropertyValue("--fg").trim() || "#000";
  ctx.fillStyle = fg;
  ctx.font = `600 ${14 * k}px sans-serif`;
  ctx.textBaseline = "alphabetic";
  ctx.fillText(panelTitle(app, panel, titled), 10 * k, 20 * k);
  const L = legendEntries(app, panel);
  const x = W - 160 * k;
  let y = 20 * k;
  ctx.font = `600 ${12 * k}px sans-serif`;
  if (L.title) ctx.fillText(L.title, x, y);
  ctx.font = `${12 * k}px sans-serif`;
  const row = (name, color) => {
    y += 16 * k;
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.arc(x + 5 * k, y - 4 * k, 5 * k, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillStyle = fg;
    ctx.fillText(name, x + 15 * k, y);
  };
  for (const it of L.items) row(it.name, it.color);
  if (L.bar) {
    y += 8 * k;
    const g = ctx.createLinearGradient(x, 0, x + 140 * k, 0);
    L.bar.stops.forEach((c, i) => g.addColorStop(i / 10, c));
    ctx.fillStyle = g;
    ctx.fillRect(x, y, 140 * k, 10 * k);
    y += 24 * k;
    ctx.fillStyle = fg;
    ctx.fillText(L.bar.lo, x, y);
    ctx.textAlign = "right";
    ctx.fillText(L.bar.hi, x + 140 * k, y);
    ctx.textAlign = "left";
  }
  for (const g of L.groups) row(g.name, g.color);
}

/** A panel's title: the figure title, prefixed with the view's name when there are several. */
function panelTitle(app, panel, titled) {
  return titled ? `${panel.state.name}: ${figureTitle(app, panel.state)}` : figureTitle(app, panel.state);
}

export async function exportPNG(app, scale = 1) {
  try {
    const bytes = await buildPNG(app, scale);
    download(new Blob([bytes], { type: "image/png" }), `${baseName(app)}${scale > 1 ? `@${scale}x` : ""}.png`);
  } catch (e) {
    app.fail(e, "PNG export");
  }
}

// ---------------------------------------------------------------- SVG

/**
 * An SVG string of the current view. Up to `maxCells` (default SVG_FULL_MAX) visible cells:
 * one <circle> per visible cell, in draw order (emphasized cells last, 3D far to near).
 * Above that: density-reduced — cells are binned into squares one point-diameter wide and
 * only the last-drawn cell of each (square, color) pair is kept, so the picture stays the
 * same at print size while the element count is bounded by the canvas area. The cell circles
 * sit in <g id="cells" data-cells="N" data-visible="M" data-reduced="0|1">.
 */
export function buildSVG(app, { maxCells = SVG_FULL_MAX } = {}) {
  const panels = figurePanels(app);
  const g = panelGrid(panels);
  const css = getComputedStyle(document.documentElement);
  const bg = css.getPropertyValue("--bg").trim();
  const p = provenance(app);
  if (panels.length > 1) p.views = panels.map((q) => `${q.state.name}: ${figureTitle(app, q.state)}`).join(" | ");
  const title = figureTitle(app);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:cellucid="https://cellucid.org/ns/figure" width="${g.W}" height="${g.H}" viewBox="0 0 ${g.W} ${g.H}">`,
    `<title>${esc(title)}</title>`,
    `<metadata><cellucid:provenance ${Object.entries(p).map(([k, v]) => `cellucid:${k}="${esc(v)}"`).join(" ")}/></metadata>`,
    `<rect width="100%" height="100%" fill="${bg}"/>`,
  ];
  if (panels.length === 1) parts.push(...svgPanel(app, panels[0], maxCells, false));
  else
    panels.forEach((q, k) => {
      const [x, y] = g.at(k);
      parts.push(`<g id="panel-${esc(q.id)}" data-view="${esc(q.id)}" transform="translate(${x},${y})">`, ...svgPanel(app, q, maxCells, true), "</g>");
    });
  parts.push("</svg>");
  return parts.join("\n");
}

/**
 * One panel's cells, title and legend (SVG elements, panel-relative coordinates). Up to
 * `maxCells` visible cells: one <circle> per visible cell, in draw order (emphasized cells
 * last, 3D far to near); above that density-reduced (see buildSVG).
 */
function svgPanel(app, panel, maxCells, titled) {
  const V = panel.view;
  const { width: w, height: h } = V.camera;
  const s = app.store.get();
  const css = getComputedStyle(document.documentElement);
  const fg = css.getPropertyValue("--fg").trim();
  const r = s.pointSize / 2;
  const c = V.colors;
  const ch = s.crossHighlight && s.crossHighlight.cells.length ? s.crossHighlight.cells : [];
  const dim = s.selection.length > 0 || ch.length > 0;
  const emph = new Set([...s.selection, ...ch, ...app.activeGroups().filter((g) => g.visible).flatMap((g) => [...g.cells])]);
  let order = [];
  for (let i = 0; i < app.n; i++) if (!app.hidden[i]) order.push(i);
  const visible = order.length;
  if (V.geom.dim === 3) {
    // painter's algorithm: far cells first
    V.index.hiddenVersion = app.hiddenVersion; // every view's index follows the shared hidden mask
    V.index.update(V.camera, V.geom, app.hidden, app.n);
    const d = V.index.depth;
    order.sort((a, b) => d[b] - d[a]);
  } else if (V.order) {
    // continuous colors: the renderer's value order (high values on top)
    const keep = new Uint8Array(app.n);
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
  const smoke = V === app && app.smoke && app.smoke.active(app.renderer);
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
    app.renderer.drawNow(); // the canvas holds the current smoke frame
    parts.push(`<image id="smoke" x="0" y="0" width="${w}" height="${h}" href="${app.renderer.canvas.toDataURL("image/png")}"/>`);
  }
  for (const [i, x, y] of drawn) {
    const hex = "#" + [c[4 * i], c[4 * i + 1], c[4 * i + 2]].map((v) => v.toString(16).padStart(2, "0")).join("");
    const op = s.opacity * (dim && !emph.has(i) ? 0.15 : 1);
    parts.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" fill="${hex}"${op < 1 ? ` fill-opacity="${op.toFixed(2)}"` : ""}/>`);
  }
  parts.push("</g>");
  if (V === app && app.edges && app.edges.on) {
    const segs = app.edges.segments();
    const stroke = s.theme === "dark" ? "#e6e6f0" : "#141428";
    if (segs.length) parts.push(`<path id="edges" fill="none" stroke="${stroke}" stroke-opacity="0.22" stroke-width="1" d="${segs.map((q) => `M${q[0].toFixed(1)} ${q[1].toFixed(1)}L${q[2].toFixed(1)} ${q[3].toFixed(1)}`).join("")}"/>`);
  }
  if (V === app && app.labels && app.labels.on) parts.push(labelsSVG(app.labels.layout(), s.theme === "dark", esc));
  if (titled) parts.push(`<rect width="${w}" height="${h}" fill="none" stroke="${fg}" stroke-opacity="0.25"/>`);
  parts.push(`<text id="${titled ? `title-${esc(panel.id)}` : "title"}" x="10" y="20" font-family="sans-serif" font-size="14" font-weight="600" fill="${fg}">${esc(panelTitle(app, panel, titled))}</text>`);
  const L = legendEntries(app, panel);
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

export function exportSVG(app) {
  try {
    download(new Blob([buildSVG(app)], { type: "image/svg+xml" }), `${baseName(app)}.svg`);
  } catch (e) {
    app.fail(e, "SVG export");
  }
}

const esc = (s) => String(s).replace(/[<>&"']/g, (ch) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[ch]);
