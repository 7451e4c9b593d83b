// Shared bits of the panel's plots: a crisp canvas of a given CSS size, axes, and chunked
// drawing (many points are drawn a slice per animation frame so the page never stalls; a
// newer drawing of the same canvas cancels the older one).
const CHUNK = 4000;

/** Size `canvas` to `w`×`h` CSS px at the device pixel ratio; returns its 2D context in CSS px. */
export function sized(canvas, w, h) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

export function themeColors() {
  const cs = getComputedStyle(document.documentElement);
  const v = (n, d) => cs.getPropertyValue(n).trim() || d;
  return { fg: v("--fg", "#1d1f24"), muted: v("--muted", "#5a5f6e"), border: v("--border", "#d8dbe3"), accent: v("--accent", "#2f6fde"), danger: v("--danger", "#c73a3a") };
}

/** A linear scale from [d0, d1] to [r0, r1] (a flat domain maps to the middle). */
export function scale(d0, d1, r0, r1) {
  const span = d1 - d0;
  return span > 0 && Number.isFinite(span) ? (x) => r0 + ((x - d0) / span) * (r1 - r0) : () => (r0 + r1) / 2;
}

/** Axes box with min/max tick labels and axis titles. */
export function axes(ctx, box, [x0, x1], [y0, y1], xTitle, yTitle, c) {
  ctx.strokeStyle = c.border;
  ctx.lineWidth = 1;
  ctx.strokeRect(box.l + 0.5, box.t + 0.5, box.r - box.l, box.b - box.t);
  ctx.fillStyle = c.muted;
  ctx.font = "10px system-ui, sans-serif";
  const f = (v) => (Math.abs(v) >= 1e3 || (Math.abs(v) < 1e-2 && v !== 0) ? v.toExponential(1) : +v.toFixed(2) + "");
  if (x0 !== x1) {
    ctx.textAlign = "left";
    ctx.fillText(f(x0), box.l, box.b + 12);
    ctx.textAlign = "right";
    ctx.fillText(f(x1), box.r, box.b + 12);
  }
  ctx.fillText(f(y0), box.l - 3, box.b);
  ctx.fillText(f(y1), box.l - 3, box.t + 8);
  ctx.textAlign = "center";
  ctx.fillText(xTitle, (box.l + box.r) / 2, box.b + 24);
  ctx.save();
  ctx.translate(10, (box.t + box.b) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(yTitle, 0, 0);
  ctx.restore();
}

/**
 * Draw `n` points with `drawOne(ctx, i)`, a chunk per animation frame; resolves true when
 * all are drawn, false when a newer call on the same canvas took over.
 */
export function drawChunked(canvas, ctx, n, drawOne) {
  const token = (canvas._drawToken = (canvas._drawToken || 0) + 1);
  return new Promise((resolve) => {
    let i = 0;
    const step = () => {
      if (canvas._drawToken !== token) return resolve(false);
      const end = Math.min(n, i + CHUNK);
      for (; i < end; i++) drawOne(ctx, i);
      if (i < n) requestAnimationFrame(step);
      else resolve(true);
    };
    step();
  });
}

/** Yield to the browser (between chunks of a long computation). */
export const nextTask = () => new Promise((r) => setTimeout(r, 0));
