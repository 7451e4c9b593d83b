// The figure as a PNG, WYSIWYG: each view re-rendered at 1×–4× its canvas' CSS size (point
// sizes scale with it), the live view's overlays, title and legend drawn on top, provenance
// in tEXt chunks.
import { drawLabels2D } from "./labels.js";
import { addPngText } from "./pngText.js";
import { figureTitle, legendEntries, panelGrid, panelTitle, provenance, themeColors } from "./scene.js";

/** The figure as PNG bytes at `scale` × the canvas' CSS size (1–4): one panel per view shown. */
export async function buildPNG(scene, scale = 1) {
  scale = Math.max(1, Math.min(4, Number(scale) || 1));
  const panels = scene.panels;
  const g = panelGrid(panels);
  const out = document.createElement("canvas");
  out.width = Math.round(g.W * scale);
  out.height = Math.round(g.H * scale);
  const ctx = out.getContext("2d");
  if (panels.length > 1) {
    ctx.fillStyle = `rgb(${scene.bg.map((v) => Math.round(v * 255)).join(",")})`;
    ctx.fillRect(0, 0, out.width, out.height);
  }
  panels.forEach((p, k) => {
    const [x, y] = g.at(k);
    drawPanel(scene, p, ctx, scale, Math.round(x * scale), Math.round(y * scale), panels.length > 1);
  });
  const blob = await new Promise((res) => out.toBlob(res, "image/png"));
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const p = provenance(scene);
  return addPngText(bytes, {
    Title: figureTitle(scene),
    Software: `cellucid ${p.cellucid_version}`,
    "Creation Time": p.date,
    Source: p.dataset_id,
    ...Object.fromEntries(Object.entries(p).map(([k, v]) => [`cellucid:${k}`, v])),
  });
}

/** One panel re-rendered at `scale` onto `ctx` at (x, y) device px, with its title and legend. */
function drawPanel(scene, panel, ctx, scale, x, y, titled) {
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
  const { vectors, edges, labels } = scene.overlays;
  const live = V === scene.live;
  if (live && vectors) ctx.drawImage(vectors, x, y, W, H);
  ctx.save();
  ctx.translate(x, y);
  if (live) {
    // neighbour-graph edges and centroid labels (ui/plotOptions.js), as on screen: the live view's
    if (edges && edges.data) edges.stroke(ctx, scale);
    if (labels) drawLabels2D(ctx, labels.layout(), scale, scene.state.theme === "dark");
  }
  drawLegend(scene, ctx, scale, W, panel, titled);
  ctx.restore();
}

function drawLegend(scene, ctx, k, W, panel, titled) {
  const { fg } = themeColors();
  ctx.fillStyle = fg;
  ctx.font = `600 ${14 * k}px sans-serif`;
  ctx.textBaseline = "alphabetic";
  ctx.fillText(panelTitle(scene, panel, titled), 10 * k, 20 * k);
  const L = legendEntries(scene, panel);
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
