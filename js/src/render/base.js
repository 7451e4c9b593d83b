// What both point renderers (WebGL: renderer.js, CPU: cpuRenderer.js) share: drawing
// parameters, frames on demand (coalesced into one animation frame, never a busy loop),
// and the per-frame bookkeeping that the app, the tests and the benchmark read.
import { mark } from "../perf.js";

export class RendererBase {
  constructor(canvas, kind) {
    this.canvas = canvas;
    /** "webgl" or "cpu" (shown in window.cellucid.state() and the help panel). */
    this.kind = kind;
    this.camera = null;
    this.n = 0;
    this.geom = null;
    this.frames = 0;
    this.pending = false;
    this.pendingMotion = false;
    this.onFrame = null;
    this.params = { size: 4, opacity: 1, dimOthers: false, bg: [1, 1, 1], dpr: 1 };
    this.uploads = 0; // bytes sent to the GPU (for tests and profiling; 0 on the CPU)
    // a volume renderer (render/smoke.js) that draws instead of the points while it is active
    this.volume = null;
  }

  setParams(p) {
    let changed = false;
    for (const [k, v] of Object.entries(p)) {
      const old = this.params[k];
      const same = Array.isArray(v) && Array.isArray(old) ? v.length === old.length && v.every((x, i) => x === old[i]) : old === v;
      if (!same) {
        this.params[k] = v;
        changed = true;
      }
    }
    if (changed) this.requestRender();
  }

  /**
   * Schedule one frame (coalesced). `motion`: the frame follows a moving camera (a drag, the
   * wheel, fly keys) and may be drawn coarse (the CPU renderer's motion frames); a frame any
   * other request joins is drawn in full.
   */
  requestRender(motion = false) {
    // a view that is not shown (a snapshot in the single layout) draws once it is shown again
    if (this.paused) return void (this.dirty = true);
    this.pendingMotion = this.pending ? this.pendingMotion && motion : motion;
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      if (!this.pending) return; // drawn meanwhile by drawNow
      this.pending = false;
      this.draw({ motion: this.pendingMotion });
    });
  }

  /** Stop drawing (`true`) while the canvas is not shown; unpausing draws what was missed. */
  setPaused(paused) {
    this.paused = paused;
    if (!paused && this.dirty) {
      this.dirty = false;
      this.requestRender();
    }
  }

  /** Draw at once what a scheduled frame would draw (and skip that frame), in full. */
  drawNow() {
    this.pending = false;
    this.draw({ motion: false });
  }

  /**
   * After each drawn frame: count it, and announce how many points it drew as the
   * performance mark "cellucid:draw" ({detail: {points, renderer, sampled}}; `sampled`: a
   * motion frame drawn from a sample of the cells) — the benchmark and the tests count
   * frames by it whichever renderer drew them. Only the latest mark is kept, so a long
   * session does not pile them up.
   */
  frameDrawn(points, sampled = false) {
    this.frames++;
    mark("first-draw");
    if (window.performance && performance.mark) {
      performance.clearMarks("cellucid:draw");
      performance.mark("cellucid:draw", { detail: { points, renderer: this.kind, sampled } });
    }
    if (this.onFrame) this.onFrame(this.frames);
  }

  /** Draw the volume instead of the points when it is on (true if it drew). */
  drawVolume() {
    if (!this.volume || !this.volume.active(this)) return false;
    this.volume.draw(this);
    this.frameDrawn(0);
    return true;
  }

  /** True when the renderer can draw now (the WebGL one waits for its shaders to link). */
  linked() {
    return true;
  }

  /** Prepare the first frame's work while data are on the wire (the WebGL one compiles). */
  warmUp() {}
}
