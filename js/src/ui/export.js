// The toolbar's figure downloads: PNG and SVG of what the views show (figure/), named
// after the dataset and the colored field.
import { figureScene } from "../figure/scene.js";
import { buildPNG } from "../figure/png.js";
import { buildSVG } from "../figure/svg.js";
import { downloadFile } from "../page.js";

function baseName(scene) {
  const s = scene.state;
  return `cellucid_${scene.identity.name}_${s.colorBy ? s.colorBy.name : "cells"}`.replace(/[^\w.-]+/g, "_");
}

export async function exportPNG(app, scale = 1) {
  try {
    const scene = figureScene(app);
    const bytes = await buildPNG(scene, scale);
    downloadFile(new Blob([bytes], { type: "image/png" }), `${baseName(scene)}${scale > 1 ? `@${scale}x` : ""}.png`);
  } catch (e) {
    app.fail(e, "PNG export");
  }
}

export function exportSVG(app) {
  try {
    const scene = figureScene(app);
    downloadFile(new Blob([buildSVG(scene)], { type: "image/svg+xml" }), `${baseName(scene)}.svg`);
  } catch (e) {
    app.fail(e, "SVG export");
  }
}
