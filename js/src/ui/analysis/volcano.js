// Volcano plot of a DE answer: log2 fold change (x) against −log10 adjusted p (y), on a
// canvas; genes passing the filters in the accent colour, the others grey. Drawn in chunks.
import { sized, themeColors, scale, axes, drawChunked } from "./canvas.js";

const W = 400, H = 220;
const BOX = { l: 34, t: 8, r: W - 8, b: H - 30 };

/** −log10(p), with p = 0 (underflow) shown at the top of the finite range. */
export function negLog10(p) {
  return p == null ? NaN : p > 0 ? -Math.log10(p) : Infinity;
}

export function drawVolcano(canvas, cols, passing) {
  const ctx = sized(canvas, W, H);
  const c = themeColors();
  const n = cols.names.length;
  const x = cols.logfoldchanges, y = new Float64Array(n);
  let xMin = 0, xMax = 0, yMax = 1;
  for (let i = 0; i < n; i++) {
    y[i] = negLog10(cols.pvals_adj[i]);
    if (x[i] != null && Number.isFinite(x[i])) (xMin = Math.min(xMin, x[i])), (xMax = Math.max(xMax, x[i]));
    if (Number.isFinite(y[i])) yMax = Math.max(yMax, y[i]);
  }
  const lim = Math.max(Math.abs(xMin), Math.abs(xMax), 1);
  const sx = scale(-lim, lim, BOX.l, BOX.r), sy = scale(0, yMax * 1.05, BOX.b, BOX.t);
  axes(ctx, BOX, [-lim, lim], [0, yMax * 1.05], "log2 fold change", "−log10 padj", c);
  const pass = new Uint8Array(n);
  for (const i of passing) pass[i] = 1;
  canvas.dataset.points = String(n);
  canvas.dataset.passing = String(passing.length);
  // grey first, then the passing genes on top
  const order = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) if (!pass[i]) order[k++] = i;
  for (let i = 0; i < n; i++) if (pass[i]) order[k++] = i;
  return drawChunked(canvas, ctx, n, (g, j) => {
    const i = order[j];
    if (x[i] == null || Number.isNaN(y[i])) return;
    const yy = Number.isFinite(y[i]) ? y[i] : yMax;
    g.fillStyle = pass[i] ? c.accent : "rgba(140,140,150,0.45)";
    g.fillRect(sx(x[i]) - 1.5, sy(yy) - 1.5, 3, 3);
  });
}

/** The gene nearest to a click at CSS px (x, y) of the canvas, within 6 px, or null. */
export function volcanoPick(cols, px, py) {
  const n = cols.names.length;
  const x = cols.logfoldchanges;
  let xMax = 1, yMax = 1;
  for (let i = 0; i < n; i++) {
    if (x[i] != null && Number.isFinite(x[i])) xMax = Math.max(xMax, Math.abs(x[i]));
    const y = negLog10(cols.pvals_adj[i]);
    if (Number.isFinite(y)) yMax = Math.max(yMax, y);
  }
  const sx = scale(-xMax, xMax, BOX.l, BOX.r), sy = scale(0, yMax * 1.05, BOX.b, BOX.t);
  let best = null, bestD = 36;
  for (let i = 0; i < n; i++) {
    if (x[i] == null) continue;
    let y = negLog10(cols.pvals_adj[i]);
    if (Number.isNaN(y)) continue;
    if (!Number.isFinite(y)) y = yMax;
    const d = (sx(x[i]) - px) ** 2 + (sy(y) - py) ** 2;
    if (d < bestD) (bestD = d), (best = cols.names[i]);
  }
  return best;
}
