// The page skeleton: sidebar (controls), stage (canvas, toolbar, legend, status, tooltip).
import { h } from "./dom.js";
import { pageSearch } from "../page.js";

export function buildLayout(root) {
  // the boot script's canvas already has a WebGL context and compiled shaders (boot.js)
  const early = window.__cellucidBoot && window.__cellucidBoot.gl;
  const canvas = early ? early.canvas : h("canvas");
  canvas.setAttribute("aria-label", "cell embedding");
  canvas.setAttribute("data-testid", "canvas");
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
  // the views (ui/views.js): the live view's cell, then one cell per snapshot
  dom.liveCell = h("div.view.live", { dataset: { view: "live" } }, canvas, vectorCanvas, overlay);
  dom.views = h("div.views", { dataset: { layout: "single" }, "data-testid": "views" }, dom.liveCell);
  dom.stage.append(dom.views, h("div.progress", {}, dom.progressBar), dom.toolbar, dom.legend, dom.status, dom.tooltip, dom.progressLabel);
  root.append(dom.sidebar, dom.stage);
  return dom;
}

/** The sidebar's width in CSS px (styles.css `.sidebar`). */
export const SIDEBAR_PX = 260;
/** Embedded pages narrower than this start with the sidebar folded away (main.js). */
export const NARROW_EMBED_PX = 760;

/**
 * The canvas size in device px that the layout will give it, guessed before any layout (the
 * boot script sizes its canvas with it: resizing a canvas that has a WebGL context waits for
 * the GPU process, which is busy compiling then). A wrong guess only costs that resize.
 */
export function expectedCanvasSize(win = window) {
  const embedded = new URLSearchParams(pageSearch(win)).get("embed") === "1";
  const folded = embedded && win.innerWidth < NARROW_EMBED_PX;
  const dpr = win.devicePixelRatio || 1;
  const w = win.innerWidth - (folded ? 0 : SIDEBAR_PX);
  return [Math.max(1, Math.round(w * dpr)), Math.max(1, Math.round(win.innerHeight * dpr))];
}

/** Keep the canvas backing store in sync with its CSS size × devicePixelRatio. */
export function watchSize(app, dom) {
  const fit = () => {
    const r = dom.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(r.width * dpr));
    const h = Math.max(1, Math.round(r.height * dpr));
    // Assigning a canvas size, even the same one, clears it and costs a full redraw (about
    // a second for 1M points on software GL): only when the size really changed.
    if (dom.canvas.width === w && dom.canvas.height === h && app.camera.width === Math.max(1, r.width) && app.camera.height === Math.max(1, r.height)) return;
    dom.canvas.width = w;
    dom.canvas.height = h;
    dom.vectorCanvas.width = w;
    dom.vectorCanvas.height = h;
    app.camera.setViewport(r.width, r.height);
    app.renderer.setParams({ dpr });
    app.index.invalidate();
    app.requestRender();
  };
  new ResizeObserver(fit).observe(dom.liveCell);
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
