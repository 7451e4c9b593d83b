// Centroid labels in figures: the labels the viewer placed on screen (ui/labels.js), drawn
// on a PNG's canvas or written as SVG text, with the same font and halo.

export const LABEL_FONT_PX = 13;

/** Draw placed labels on a 2D canvas context at scale `k` (PNG export). */
export function drawLabels2D(ctx, placed, k, dark) {
  ctx.save();
  ctx.font = `600 ${LABEL_FONT_PX * k}px sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.lineJoin = "round";
  ctx.lineWidth = 3 * k;
  ctx.strokeStyle = dark ? "rgba(0,0,0,0.85)" : "rgba(255,255,255,0.85)";
  ctx.fillStyle = dark ? "#f2f2f2" : "#111";
  for (const l of placed) {
    ctx.strokeText(l.name, l.x * k, l.y * k);
    ctx.fillText(l.name, l.x * k, l.y * k);
  }
  ctx.restore();
}

/** Placed labels as an SVG group (figure export); `esc` escapes text. */
export function labelsSVG(placed, dark, esc) {
  if (!placed.length) return "";
  const halo = dark ? "#000000" : "#ffffff";
  const fill = dark ? "#f2f2f2" : "#111111";
  const texts = placed.map((l) => `<text x="${l.x.toFixed(1)}" y="${l.y.toFixed(1)}">${esc(l.name)}</text>`).join("");
  return `<g id="labels" font-family="sans-serif" font-size="${LABEL_FONT_PX}" font-weight="600" text-anchor="middle" dominant-baseline="central" fill="${fill}" stroke="${halo}" stroke-width="3" stroke-opacity="0.85" paint-order="stroke">${texts}</g>`;
}
