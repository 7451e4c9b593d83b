// The neighbour graph (obsp["connectivities"]) as faint straight lines between connected
// cells, on a 2D canvas over the points (both renderers). The edges come from
// GET /_cellucid/api/graph/edges: each undirected edge once, and above MAX_EDGES a fixed
// uniform sample of MAX_EDGES of them (the server says how many there are in all). Edges
// with a hidden (filtered) end are not drawn. Redrawn after each frame of the points.
import { api } from "../data/client.js";

/** The most edges the viewer asks for and draws; above this the graph is sampled. */
export const MAX_EDGES = 100000;

export class GraphEdges {
  /** `canvas`: the overlay canvas (same box as the points' canvas). */
  constructor(app, canvas) {
    this.app = app;
    this.canvas = canvas;
    this.on = false;
    this.data = null; // {pairs: Uint32Array (2 per edge), total, sampled}
    this.loading = null;
    this.drawnEdges = 0;
  }

  /** Load the edges once (a promise; rejects with the server's message when there is no graph). */
  load() {
    if (!this.loading) {
      this.loading = api.graphEdges(MAX_EDGES).then((d) => (this.data = d)).catch((e) => {
        this.loading = null;
        throw e;
      });
    }
    return this.loading;
  }

  async setOn(on) {
    this.on = !!on;
    if (this.on && !this.data) await this.load();
    this.draw();
  }

  draw() {
    const { app, canvas } = this;
    canvas.hidden = !this.on;
    this.drawnEdges = 0;
    if (!this.on || !this.data || !app.geom) return;
    const cam = app.camera;
    const dpr = window.devicePixelRatio || 1;
    const W = Math.round(cam.width * dpr), H = Math.round(cam.height * dpr);
    if (canvas.width !== W || canvas.height !== H) {
      canvas.width = W;
      canvas.height = H;
    }
    // a CPU-rasterized canvas: stroking 100,000 segments in a GPU-accelerated canvas kept a
    // software GPU process (SwiftShader) busy for tens of seconds after the JS had finished
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.clearRect(0, 0, W, H);
    this.stroke(ctx, dpr);
  }

  /** Stroke the visible edges on `ctx` at `k` device px per CSS px (also used by PNG export). */
  stroke(ctx, k) {
    const { app } = this;
    const m = app.camera.matrix, w = app.geom.world, hidden = app.hidden;
    const cw = app.camera.width, ch = app.camera.height;
    const pairs = this.data.pairs;
    const dark = app.store.get().theme === "dark";
    ctx.strokeStyle = dark ? "rgba(230,230,240,0.22)" : "rgba(20,20,40,0.22)";
    ctx.lineWidth = k;
    ctx.beginPath();
    let drawn = 0;
    const px = (i, out) => {
      const x = w[3 * i], y = w[3 * i + 1], z = w[3 * i + 2];
      const cx = m[0] * x + m[4] * y + m[8] * z + m[12];
      const cy = m[1] * x + m[5] * y + m[9] * z + m[13];
      const cwv = m[3] * x + m[7] * y + m[11] * z + m[15];
      if (!(cwv > 0) || x !== x) return false;
      out[0] = ((cx / cwv + 1) / 2) * cw * k;
      out[1] = ((1 - cy / cwv) / 2) * ch * k;
      return true;
    };
    const a = [0, 0], b = [0, 0];
    for (let e = 0; e < pairs.length; e += 2) {
      const i = pairs[e], j = pairs[e + 1];
      if (hidden[i] || hidden[j] || !px(i, a) || !px(j, b)) continue;
      ctx.moveTo(a[0], a[1]);
      ctx.lineTo(b[0], b[1]);
      drawn++;
    }
    ctx.stroke();
    this.drawnEdges = drawn;
    return drawn;
  }

  /** The visible edges as segments in CSS px (SVG export): [[x1, y1, x2, y2], ...]. */
  segments() {
    if (!this.on || !this.data || !this.app.geom) return [];
    const out = [];
    const { pairs } = this.data;
    const hidden = this.app.hidden;
    for (let e = 0; e < pairs.length; e += 2) {
      const i = pairs[e], j = pairs[e + 1];
      if (hidden[i] || hidden[j]) continue;
      const p = this.app.project(i), q = this.app.project(j);
      if (p && q) out.push([p.x, p.y, q.x, q.y]);
    }
    return out;
  }
}
