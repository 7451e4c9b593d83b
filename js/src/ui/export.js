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

function download(blob, name) {
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

function figureTitle(app) {
  const s = app.store.get();
  const what = s.colorBy ? `${s.colorBy.name}${s.colorBy.kind === "gene" ? " (gene)" : ""}` : "cells";
  return `${app.identity.name} — ${what} · ${s.embedding} ${s.dimension}D`;
}

/** What the legend shows: visible categories (with ≥ 1 visible cell), a color bar, visible groups. */
export function legendEntries(app) {
  const col = app.colorColumn;
  const s = app.store.get();
  const out = { title: col && col.kind !== "none" ? col.name : "", items: [], bar: null, groups: [] };
  if (col && col.kind === "categorical") {
    const colors = categoryColors(col);
    const seen = new Uint8Array(col.categories.length);
    for (let i = 0; i < app.n; i++) if (!app.hidden[i] && col.codes[i] !== col.missing) seen[col.codes[i]] = 1;
    col.categories.forEach((name, k) => seen[k] && out.items.push({ name, color: colors[k] }));
  } else if (col && col.kind === "continuous") {
    const [lo, hi] = app.colorRangeNow();
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

/** The figure as PNG bytes at `scale` × the canvas' CSS size (1–4). */
export async function buildPNG(app, scale = 1) {
  scale = Math.max(1, Math.min(4, Number(scale) || 1));
  const r = app.renderer;
  const gl = r.canvas;
  const W = Math.round(app.camera.width * scale), H = Math.round(app.camera.height * scale);
  const saved = { w: gl.width, h: gl.height, dpr: r.params.dpr };
  const out = document.createElement("canvas");
  out.width = W;
  out.height = H;
  const ctx = out.getContext("2d");
  try {
    gl.width = W;
    gl.height = H;
    r.params.dpr = scale; // point sizes scale with the figure
    r.draw();
    ctx.drawImage(gl, 0, 0);
  } finally {
    gl.width = saved.w;
    gl.height = saved.h;
    r.params.dpr = saved.dpr;
    r.draw();
  }
  if (app.vectorOverlay.running) ctx.drawImage(app.vectorOverlay.canvas, 0, 0, W, H);
  // neighbour-graph edges and centroid labels (ui/plotOptions.js), as on screen
  if (app.edges && app.edges.on && app.edges.data) app.edges.stroke(ctx, scale);
  if (app.labels && app.labels.on) drawLabels2D(ctx, app.labels.layout(), scale, app.store.get().theme === "dark");
  drawLegend2D(app, ctx, scale, W);
  const blob = await new Promise((res) => out.toBlob(res, "image/png"));
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const p = provenance(app);
  return addPngText(bytes, {
    Title: figureTitle(app),
    Software: `cellucid ${p.cellucid_version}`,
    "Creation Time": p.date,
    Source: p.dataset_id,
    ...Object.fromEntries(Object.entries(p).map(([k, v]) => [`cellucid:${k}`, v])),
  });
}

function drawLegend2D(app, ctx, k, W) {
  const css = getComputedStyle(document.documentElement);
  const fg = css.getPropertyValue("--fg").trim() || "#000";
  ctx.fillStyle = fg;
  ctx.font = `600 ${14 * k}px sans-serif`;
  ctx.textBaseline = "alphabetic";
  ctx.fillText(figureTitle(app), 10 * k, 20 * k);
  const L = legendEntries(app);
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
  const { width: w, height: h } = app.camera;
  const s = app.store.get();
  const css = getComputedStyle(document.documentElement);
  const bg = css.getPropertyValue("--bg").trim();
  const fg = css.getPropertyValue("--fg").trim();
  const r = s.pointSize / 2;
  const c = app.colors;
  const dim = s.selection.length > 0;
  const emph = new Set([...s.selection, ...app.activeGroups().filter((g) => g.visible).flatMap((g) => [...g.cells])]);
  let order = [];
  for (let i = 0; i < app.n; i++) if (!app.hidden[i]) order.push(i);
  const visible = order.length;
  if (app.geom.dim === 3) {
    // painter's algorithm: far cells first
    app.index.update(app.camera, app.geom, app.hidden, app.n);
    const d = app.index.depth;
    order.sort((a, b) => d[b] - d[a]);
  } else if (app.order) {
    // continuous colors: the renderer's value order (high values on top)
    const keep = new Uint8Array(app.n);
    for (const i of order) keep[i] = 1;
    order = Array.from(app.order).filter((i) => keep[i]);
  }
  order = [...order.filter((i) => !emph.has(i)), ...order.filter((i) => emph.has(i))];
  const items = [];
  for (const i of order) {
    const p = app.project(i);
    if (!p || p.x < -r || p.y < -r || p.x > w + r || p.y > h + r) continue;
    items.push([i, p.x, p.y]);
  }
  // smoke (render/smoke.js) has no circles: the volume rendering is embedded as an image
  const smoke = app.smoke && app.smoke.active(app.renderer);
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
  const p = provenance(app);
  const title = figureTitle(app);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:cellucid="https://cellucid.org/ns/figure" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">`,
    `<title>${esc(title)}</title>`,
    `<metadata><cellucid:provenance ${Object.entries(p).map(([k, v]) => `cellucid:${k}="${esc(v)}"`).join(" ")}/></metadata>`,
    `<rect width="100%" height="100%" fill="${bg}"/>`,
    `<g id="cells" data-cells="${drawn.length}" data-visible="${visible}" data-reduced="${reduced ? 1 : 0}"${smoke ? ' data-smoke="1"' : ""}>`,
  ];
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
  if (app.edges && app.edges.on) {
    const segs = app.edges.segments();
    const stroke = s.theme === "dark" ? "#e6e6f0" : "#141428";
    if (segs.length) parts.push(`<path id="edges" fill="none" stroke="${stroke}" stroke-opacity="0.22" stroke-width="1" d="${segs.map((q) => `M${q[0].toFixed(1)} ${q[1].toFixed(1)}L${q[2].toFixed(1)} ${q[3].toFixed(1)}`).join("")}"/>`);
  }
  if (app.labels && app.labels.on) parts.push(labelsSVG(app.labels.layout(), s.theme === "dark", esc));
  parts.push(`<text id="title" x="10" y="20" font-family="sans-serif" font-size="14" font-weight="600" fill="${fg}">${esc(title)}</text>`);
  const L = legendEntries(app);
  const x = w - 160;
  let y = 20;
  parts.push(`<g id="legend" font-family="sans-serif" font-size="12" fill="${fg}">`);
  if (L.title) parts.push(`<text x="${x}" y="${y}" font-weight="600">${esc(L.title)}</text>`);
  const row = (name, color) => {
    y += 16;
    parts.push(`<circle cx="${x + 5}" cy="${y - 4}" r="5" fill="${color}"/><text x="${x + 15}" y="${y}">${esc(name)}</text>`);
  };
  for (const it of L.items) row(it.name, it.color);
  if (L.bar) {
    y += 8;
    parts.push(`<defs><linearGradient id="cbar">${L.bar.stops.map((col, k) => `<stop offset="${k * 10}%" stop-color="${col}"/>`).join("")}</linearGradient></defs>`);
    parts.push(`<rect x="${x}" y="${y}" width="140" height="10" fill="url(#cbar)"/>`);
    y += 24;
    parts.push(`<text x="${x}" y="${y}">${esc(L.bar.lo)}</text><text x="${x + 140}" y="${y}" text-anchor="end">${esc(L.bar.hi)}</text>`);
  }
  for (const g of L.groups) row(g.name, g.color);
  parts.push("</g>", "</svg>");
  return parts.join("\n");
}

export function exportSVG(app) {
  try {
    download(new Blob([buildSVG(app)], { type: "image/svg+xml" }), `${baseName(app)}.svg`);
  } catch (e) {
    app.fail(e, "SVG export");
  }
}

const esc = (s) => String(s).replace(/[<>&"']/g, (ch) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[ch]);
