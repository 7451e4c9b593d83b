// Figure export: PNG (the WebGL canvas + legend swatches) and SVG (one circle per visible cell).
import { categoryColors } from "../color/colorize.js";

const SVG_MAX = 300000; // beyond this an SVG is too large to be useful; PNG is the better choice

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

/** Save the current frame as PNG. */
export function exportPNG(app) {
  app.renderer.draw(); // make sure the buffer holds the latest frame
  app.renderer.canvas.toBlob((b) => download(b, `${baseName(app)}.png`), "image/png");
}

/** Build an SVG string of the current view (visible cells in draw order, plus a legend). */
export function buildSVG(app) {
  const { width: w, height: h } = app.camera;
  const s = app.store.get();
  const bg = getComputedStyle(document.documentElement).getPropertyValue("--bg").trim();
  const fg = getComputedStyle(document.documentElement).getPropertyValue("--fg").trim();
  const r = s.pointSize / 2;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">`, `<rect width="100%" height="100%" fill="${bg}"/>`];
  const c = app.colors;
  const dim = s.selection.length > 0;
  const emph = new Set([...s.selection, ...s.highlightGroups.filter((g) => g.visible).flatMap((g) => [...g.cells])]);
  const draw = (i) => {
    const p = app.project(i);
    if (!p || p.x < -r || p.y < -r || p.x > w + r || p.y > h + r) return;
    const hex = "#" + [c[4 * i], c[4 * i + 1], c[4 * i + 2]].map((v) => v.toString(16).padStart(2, "0")).join("");
    const op = s.opacity * (dim && !emph.has(i) ? 0.15 : 1);
    parts.push(`<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="${r}" fill="${hex}"${op < 1 ? ` fill-opacity="${op.toFixed(2)}"` : ""}/>`);
  };
  let order = [];
  for (let i = 0; i < app.n; i++) if (!app.hidden[i]) order.push(i);
  if (order.length > SVG_MAX) throw new Error(`${order.length} visible cells is too many for SVG (max ${SVG_MAX}); export PNG instead`);
  if (app.geom.dim === 3) {
    // painter's algorithm: far cells first
    app.index.update(app.camera, app.geom, app.hidden, app.n);
    const d = app.index.depth;
    order.sort((a, b) => d[b] - d[a]);
  }
  for (const i of order) if (!emph.has(i)) draw(i);
  for (const i of order) if (emph.has(i)) draw(i);
  const col = app.colorColumn;
  if (col && col.kind === "categorical") {
    const colors = categoryColors(col);
    parts.push(`<g font-family="sans-serif" font-size="12" fill="${fg}">`);
    col.categories.forEach((name, k) => {
      const y = 16 + k * 16;
      parts.push(`<circle cx="${w - 150}" cy="${y - 4}" r="5" fill="${colors[k]}"/><text x="${w - 140}" y="${y}">${escapeXml(name)}</text>`);
    });
    parts.push("</g>");
  }
  parts.push("</svg>");
  return parts.join("\n");
}

export function exportSVG(app) {
  try {
    download(new Blob([buildSVG(app)], { type: "image/svg+xml" }), `${baseName(app)}.svg`);
  } catch (e) {
    app.fail(e, "SVG export");
  }
}

const escapeXml = (s) => String(s).replace(/[<>&"']/g, (ch) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[ch]);
