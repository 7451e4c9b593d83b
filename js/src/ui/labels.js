// Category names drawn on the data at each category's centroid (scanpy's legend_loc="on
// data"), collision-aware: labels are placed largest category first; one that would overlap
// an already placed label (or leave the canvas) is moved half its height up or down, or
// else left out. The centroid is the mean world position of the category's visible cells,
// projected with the current camera (so in 3D it follows the orbit).
//
// The labels are DOM elements over the canvas (crisp text at any zoom); figure export draws
// the same placed labels (figure/labels.js).
import { h } from "./dom.js";
import { categoryColors } from "../color/colorize.js";
import { LABEL_FONT_PX } from "../figure/labels.js";

const FONT = `600 ${LABEL_FONT_PX}px sans-serif`;
const PAD = 2; // px around a label's text box when testing overlap

export class CentroidLabels {
  /** `app`: the App; `stage`: the element the canvas sits in (labels are positioned in it). */
  constructor(app, stage, before = null) {
    this.app = app;
    this.on = false;
    this.el = h("div.centroid-labels", { "data-testid": "centroid-labels", "aria-hidden": "true" });
    stage.insertBefore(this.el, before);
    this.centroids = [];
    this.key = null;
    this.placed = [];
    this.measure = document.createElement("canvas").getContext("2d");
    this.measure.font = FONT;
  }

  setOn(on) {
    this.on = !!on;
    this.update();
  }

  /** Per category of the colour field: {name, code, count, color, world: [x, y, z]} of its visible cells. */
  computeCentroids() {
    const app = this.app;
    const col = app.colorColumn;
    const key = [app.geom, col, app.hiddenVersion];
    if (this.key && key.every((x, i) => x === this.key[i])) return this.centroids;
    this.key = key;
    this.centroids = [];
    if (!app.geom || !col || col.kind !== "categorical") return this.centroids;
    const K = col.categories.length;
    const sum = new Float64Array(3 * K), count = new Float64Array(K);
    const w = app.geom.world, hidden = app.hidden, codes = col.codes;
    for (let i = 0; i < app.n; i++) {
      const c = codes[i];
      if (hidden[i] || c === col.missing || c >= K) continue;
      count[c]++;
      sum[3 * c] += w[3 * i];
      sum[3 * c + 1] += w[3 * i + 1];
      sum[3 * c + 2] += w[3 * i + 2];
    }
    const colors = categoryColors(col);
    for (let c = 0; c < K; c++) {
      if (!count[c]) continue;
      this.centroids.push({ name: col.categories[c], code: c, count: count[c], color: colors[c], world: [sum[3 * c] / count[c], sum[3 * c + 1] / count[c], sum[3 * c + 2] / count[c]] });
    }
    return this.centroids;
  }

  /**
   * Place the labels for the current camera: [{name, color, x, y (box centre, CSS px), w, h,
   * ax, ay (the projected centroid), shifted}], largest category first.
   */
  layout() {
    const app = this.app;
    const cam = app.camera;
    const out = [];
    if (!this.on) return out;
    const boxes = [];
    const hits = (b) => boxes.some((o) => b.x0 < o.x1 && b.x1 > o.x0 && b.y0 < o.y1 && b.y1 > o.y0);
    const items = [...this.computeCentroids()].sort((a, b) => b.count - a.count);
    const H = LABEL_FONT_PX + 4;
    for (const it of items) {
      const p = cam.project(...it.world);
      if (!p) continue;
      const [ax, ay] = p;
      const w = Math.ceil(this.measure.measureText(it.name).width) + 6;
      for (const dy of [0, -H, H, -2 * H, 2 * H]) {
        const x = ax, y = ay + dy;
        const b = { x0: x - w / 2 - PAD, x1: x + w / 2 + PAD, y0: y - H / 2 - PAD, y1: y + H / 2 + PAD };
        if (b.x0 < 0 || b.y0 < 0 || b.x1 > cam.width || b.y1 > cam.height || hits(b)) continue;
        boxes.push(b);
        out.push({ name: it.name, color: it.color, x, y, w, h: H, ax, ay, shifted: dy !== 0 });
        break;
      }
    }
    return out;
  }

  /** Redraw the DOM labels (after a frame, a colour or visibility change, a toggle). */
  update() {
    this.placed = this.layout();
    const dark = this.app.store.get().theme === "dark";
    this.el.hidden = !this.on;
    this.el.replaceChildren(
      ...this.placed.map((l) =>
        h(
          "div.centroid-label",
          {
            dataset: { name: l.name, ax: l.ax.toFixed(2), ay: l.ay.toFixed(2), shifted: l.shifted ? "1" : "0" },
            style: { left: `${l.x - l.w / 2}px`, top: `${l.y - l.h / 2}px`, width: `${l.w}px`, height: `${l.h}px`, color: dark ? "#f2f2f2" : "#111", font: FONT, lineHeight: `${l.h}px` },
          },
          l.name,
        ),
      ),
    );
  }
}
