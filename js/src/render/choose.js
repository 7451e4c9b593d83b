// Which point renderer draws: WebGL (renderer.js) on a GPU, the CPU splatter
// (cpuRenderer.js) where WebGL runs in software or is missing.
//
// The inline boot script starts a probe (render/probe.js: a worker asks an OffscreenCanvas
// what WebGL runs on) while the data download, and the viewer takes whatever answer is there
// when it needs one: a GPU answers in milliseconds, so an answer still missing by then means
// software GL (or a cold GPU process — the answer is remembered for the next load).
// `?renderer=webgl|cpu` in the page URL overrides all of this (tests draw with both; the
// notebook widget passes the notebook page's answer this way).
import { Renderer } from "./renderer.js";
import { CpuRenderer } from "./cpuRenderer.js";
import { askedRenderer, rememberedRenderer, webglIsSoftware } from "./probe.js";

/**
 * The renderer to use now: the URL's choice; else the probe's answer; else the last load's
 * answer; else — the probe is still creating its context, which a GPU does in milliseconds —
 * the CPU renderer.
 */
export function decideRenderer(probe = null) {
  const asked = askedRenderer();
  if (asked) return asked;
  const kind = probe && probe.kind;
  if (kind === "webgl" || kind === "cpu") return kind;
  if (kind === "unknown" || !probe) return webglIsSoftware() ? "cpu" : "webgl";
  return rememberedRenderer() || "cpu";
}

/**
 * The renderer for `canvas`. `boot` is the inline boot script's state (boot.js): its choice
 * and, for WebGL, the context and program it already prepared on this canvas. Without WebGL2
 * the CPU renderer draws instead of failing.
 */
export function createRenderer(canvas, boot = null) {
  const kind = (boot && boot.renderer) || decideRenderer(boot && boot.probe);
  if (kind === "cpu") return new CpuRenderer(canvas);
  try {
    return new Renderer(canvas, boot && boot.gl);
  } catch (e) {
    if (canvas.getContext("webgl2")) throw e; // WebGL is there but failed otherwise: report it
    return new CpuRenderer(canvas);
  }
}
