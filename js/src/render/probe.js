// What WebGL runs on, asked without holding the page: in a worker, on an OffscreenCanvas.
// Creating a WebGL context on software GL holds its thread for 30–700 ms (measured in
// headless Chromium on SwiftShader, while the GPU process paints the new page); a GPU answers
// in milliseconds. Used by the viewer after its first frame, for the next load
// (render/choose.js), and by the notebook widget (js/widget), which passes its answer to the
// viewer's iframe: each viewer server has its own port, so the viewer's own memory
// (localStorage, per origin) starts empty in every notebook, while the notebook page keeps
// its origin.

import { pageSearch } from "../page.js";

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
export function askedRenderer(search = pageSearch()) {
  const asked = new URLSearchParams(search).get("renderer");
  return asked === "webgl" || asked === "cpu" ? asked : null;
}

/** Remember `kind` ("webgl" / "cpu") for this origin's next load. */
export function remember(kind) {
  try {
    localStorage.setItem(MEMO, kind);
  } catch (_) {
    /* storage blocked (sandboxed iframe, privacy mode): ask again next time */
  }
}

/** The last probe's answer in this origin ("webgl" / "cpu"), or null. */
export function rememberedRenderer() {
  try {
    const v = localStorage.getItem(MEMO);
    return v === "webgl" || v === "cpu" ? v : null;
  } catch (_) {
    return null;
  }
}

/**
 * Start asking, in a worker, what WebGL2 runs on. Returns `{kind, done}`: `kind` is null
 * until the answer arrives, then "webgl" or "cpu" — or "unknown" when a worker cannot tell
 * (no OffscreenCanvas WebGL2, workers blocked), which callers settle on the main thread
 * (webglIsSoftware). `done` resolves with the final `kind`. A known answer is remembered.
 */
export function probeRenderer() {
  const probe = { kind: null, done: null };
  probe.done = new Promise((resolve) => {
    const settle = (kind) => {
      probe.kind = kind;
      if (kind !== "unknown") remember(kind);
      resolve(kind);
    };
    let src = null;
    try {
      src = URL.createObjectURL(new Blob([PROBE_SOURCE], { type: "text/javascript" }));
      const worker = new Worker(src);
      const end = (kind) => {
        worker.terminate();
        URL.revokeObjectURL(src);
        settle(kind);
      };
      worker.onmessage = (e) => end(e.data ? kindForRendererName(e.data) : "unknown");
      worker.onerror = () => end("unknown");
    } catch (_) {
      if (src) URL.revokeObjectURL(src);
      settle("unknown");
    }
  });
  return probe;
}

/**
 * Whether WebGL2 is missing or drawn in software, asked on this thread (a throwaway context,
 * released at once). It holds the thread while it asks: only where no worker answered, or
 * where nothing else chose (render/choose.js decideRenderer).
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
 * For a page that embeds the viewer: the renderer to ask it for — this origin's remembered
 * answer at once, else the probe's if it comes within `waitMs`, else null (let the viewer
 * decide). Always probes, to remember the answer for the next viewer.
 */
export function rendererHint(waitMs = 150) {
  const memo = rememberedRenderer();
  const probe = probeRenderer();
  if (memo) return Promise.resolve(memo);
  const known = (k) => (k === "webgl" || k === "cpu" ? k : null);
  return Promise.race([probe.done.then(known), new Promise((r) => setTimeout(() => r(null), waitMs))]);
}
