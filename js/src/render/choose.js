// Which point renderer draws: WebGL (renderer.js) on a GPU, the CPU splatter
// (cpuRenderer.js) where WebGL runs in software or is missing.
//
// The page draws its first frame with the URL's choice, else with what this origin found
// last time, else on the CPU (boot.js). Once that frame is on the screen, a worker asks an
// OffscreenCanvas what WebGL runs on (render/probe.js) and remembers the answer for the next
// load (main.js). Asking earlier competed with the first frame: creating even a throwaway
// WebGL context occupies a software GPU process for 50–400 ms (headless Chromium on
// SwiftShader), delaying the frame it has to show. The first load in a new browser on a GPU
// machine therefore draws on the CPU (60–150 ms per frame at 1M cells, fast enough to use),
// and every later one on the GPU.
// `?renderer=webgl|cpu` in the page URL overrides all of this (tests draw with both; the
// notebook widget passes the notebook page's answer this way: every viewer server is a new
// origin with an empty memory).
import { Renderer } from "./renderer.js";
import { pageSearch } from "../page.js";
import { CpuRenderer } from "./cpuRenderer.js";
import { askedRenderer, probeRenderer, remember, rememberedRenderer, webglIsSoftware } from "./probe.js";

/** The boot script's choice for the first frame: the URL's, else this origin's memory, else the CPU. */
export function firstLoadRenderer() {
  return askedRenderer() || rememberedRenderer() || "cpu";
}

/**
 * After the first frame: ask (in a worker) what WebGL runs on, and remember it for the next
 * load — unless the URL chose. Where a worker cannot tell (no WebGL2 on an OffscreenCanvas in
 * workers, as in older Safari), this thread asks, now that the first frame is up. (Where
 * localStorage is blocked nothing is remembered, and every load starts on the CPU.)
 */
export function learnRendererForNextLoad() {
  if (askedRenderer()) return;
  probeRenderer().done.then((kind) => {
    if (kind === "unknown") remember(webglIsSoftware() ? "cpu" : "webgl");
  });
}

/**
 * The renderer to use now, where no boot script chose: the URL's choice; else this origin's
 * memory; else WebGL is asked on this thread.
 */
export function decideRenderer() {
  return askedRenderer() || rememberedRenderer() || (webglIsSoftware() ? "cpu" : "webgl");
}

/**
 * `?motion_points=N` in the page URL: how many cells the CPU renderer draws per frame while
 * the camera moves (0: all; cpuRenderer.js). Undefined when absent or not a count.
 */
export function askedMotionPoints(search = pageSearch()) {
  const v = new URLSearchParams(search).get("motion_points");
  const n = v == null || v.trim() === "" ? NaN : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The renderer for `canvas`. `boot` is the inline boot script's state (boot.js): its choice
 * and, for WebGL, the context and program it already prepared on this canvas. Without WebGL2
 * the CPU renderer draws instead of failing.
 */
export function createRenderer(canvas, boot = null) {
  const kind = (boot && boot.renderer) || decideRenderer();
  const cpuOptions = { motionPoints: askedMotionPoints() };
  if (kind === "cpu") return new CpuRenderer(canvas, cpuOptions);
  try {
    return new Renderer(canvas, boot && boot.gl);
  } catch (e) {
    if (canvas.getContext("webgl2")) throw e; // WebGL is there but failed otherwise: report it
    return new CpuRenderer(canvas, cpuOptions);
  }
}
