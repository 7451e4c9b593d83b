// The page skeleton: sidebar (controls), stage (canvas, toolbar, legend, status, tooltip).
import { h } from "./dom.js";

export function buildLayout(root) {
  const canvas = h("canvas", { "aria-label": "cell embedding", "data-testid": "canvas" });
  const vectorCanvas = h("canvas.vectors", { hidden: true, "data-testid": "vector-overlay" });
  const overlay = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  overlay.setAttribute("class", "overlay");
  const dom = {
    root,
    sidebar: h("aside.sidebar"),
    stage: h("main.stage"),
    canvas,
    vectorCanvas,
    overlay,
    toolbar: h("div.toolbar"),
    legend: h("div.legend", { "data-testid": "legend" }),
    status: h("div.status", { "data-testid": "status" }),
    progressBar: h("div"),
    progressLabel: h("div.progress-label", { "data-testid": "progress" }),
    tooltip: h("div.tooltip", { hidden: true }),
  };
  dom.stage.append(canvas, vectorCanvas, overlay, h("div.progress", {}, dom.progressBar), dom.toolbar, dom.legend, dom.status, dom.tooltip, dom.progressLabel);
  root.append(dom.sidebar, dom.stage);
  return dom;
}

/** Keep the canvas backing store in sync with its CSS size × devicePixelRatio. */
export function watchSize(app, dom) {
  const fit = () => {
    const r = dom.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    dom.canvas.width = Math.max(1, Math.round(r.width * dpr));
    dom.canvas.height = Math.max(1, Math.round(r.height * dpr));
    dom.vectorCanvas.width = dom.canvas.width;
    dom.vectorCanvas.height = dom.canvas.height;
    app.camera.setViewport(r.width, r.height);
    app.renderer.setParams({ dpr });
    app.index.invalidate();
    app.requestRender();
  };
  new ResizeObserver(fit).observe(dom.stage);
  fit();
}

/** Progress bar + label while data loads; errors stay visible. */
export function mountProgress(app, dom) {
  app.on("progress", (label, f) => {
    dom.progressBar.style.width = f >= 1 || !label ? "0" : `${Math.round(f * 100)}%`;
    dom.progressLabel.textContent = label && f < 1 ? `${label}… ${Math.round(f * 100)}%` : "";
  });
  let timer = null;
  app.on("error", (msg, hint) => {
    dom.progressLabel.replaceChildren(h("div.error", {}, msg), hint ? h("div.muted", {}, hint) : null);
    // a failed request (e.g. an unknown gene) should not cover the view for good
    clearTimeout(timer);
    if (app.identity) timer = setTimeout(() => dom.progressLabel.replaceChildren(), 8000);
  });
  dom.progressLabel.addEventListener("click", () => app.identity && dom.progressLabel.replaceChildren());
}
