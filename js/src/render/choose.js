// Which point renderer draws: WebGL (renderer.js) on a GPU, the CPU splatter
// (cpuRenderer.js) where WebGL runs in software or is missing.
//
// Asking WebGL what it runs on means creating a context, which on software GL holds the
// thread for 30–700 ms (measured in headless Chromium on SwiftShader; the GPU process is busy
// with the page's first paint then). So the inline boot script asks in a worker, on an
// OffscreenCanvas, while the data download, and the viewer takes whatever answer is there
// when it needs one: a GPU answers in milliseconds, so an answer still missing by then means
// software GL (or a cold GPU process — the answer is remembered for the next load).
// `?renderer=webgl|cpu` in the page URL overrides all of this (tests draw with both).
import { Renderer } from "./renderer.js";
import { CpuRenderer } from "./cpuRenderer.js";

const SOFTWARE_GL = /swiftshader|llvmpipe|softpipe|lavapipe|software|basic render driver/i;
const MEMO = "cellucid:renderer";

// Runs in the worker: the WebGL2 renderer's name, or "" when a worker cannot tell.
const PROBE_SOURCE = `let name = "";
try {
  const gl = new OffscreenCanvas(1, 1).getContext("webgl2");
  if (gl) {
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) || "webgl2");
    const lose = gl.getExtension("WEBGL_lose_context");
    if (lose) lose.loseContext();
  }
} catch (e) {}
postMessage(name);`;

/** "cpu" for a software (or no) WebGL renderer name, else "webgl". */
export function kindForRendererName(name) {
  return !name || SOFTWARE_GL.test(name) ? "cpu" : "webgl";
}

/** The renderer the page URL asks for ("webgl" / "cpu"), or null. */
export function askedRenderer(loc = window.location) {
  const asked = new URLSearchParams(loc.search).get("renderer");
  return asked === "webgl" || asked === "cpu" ? asked : null;
}

function remember(kind) {
  try {
    localStorage.setItem(MEMO, kind);
  } catch (_) {
    /* storage blocked (sandboxed iframe, privacy mode): ask again next time */
  }
}

function remembered() {
  try {
    const v = localStorage.getItem(MEMO);
    return v === "webgl" || v === "cpu" ? v : null;
  } catch (_) {
    return null;
  }
}

/**
 * Start asking, in a worker, what WebGL2 runs on. Returns `{kind}`: null until the answer
 * arrives, then "webgl" or "cpu" — or "unknown" when a worker cannot tell (no
 * OffscreenCanvas WebGL2): then the main thread asks itself (see decideRenderer).
 */
export function probeRenderer() {
  const probe = { kind: null };
  if (askedRenderer()) return probe;
  try {
    const src = URL.createObjectURL(new Blob([PROBE_SOURCE], { type: "text/javascript" }));
    const worker = new Worker(src);
    worker.onmessage = (e) => {
      probe.kind = e.data ? kindForRendererName(e.data) : "unknown";
      if (probe.kind !== "unknown") remember(probe.kind);
      worker.terminate();
      URL.revokeObjectURL(src);
    };
    worker.onerror = () => {
      probe.kind = "unknown";
      worker.terminate();
    };
  } catch (_) {
    probe.kind = "unknown";
  }
  return probe;
}

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
  return remembered() || "cpu";
}

/**
 * Whether WebGL2 is missing or drawn in software, asked on this thread (a throwaway context,
 * released at once). Only where a worker cannot answer: it holds the thread while it asks.
 */
export function webglIsSoftware() {
  let gl = null;
  try {
    gl = document.createElement("canvas").getContext("webgl2");
    if (!gl) return true;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    return kindForRendererName(String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) || "webgl2")) === "cpu";
  } catch (_) {
    return true;
  } finally {
    const lose = gl && gl.getExtension("WEBGL_lose_context");
    if (lose) lose.loseContext();
  }
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
