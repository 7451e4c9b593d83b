// One snapshot view: its own canvas, renderer, camera and screen index, drawing the same
// cells as the live view with its own coloring, embedding and dimension (a ViewState,
// state/views.js). What the views share comes from the app and is never copied: the loaded
// embeddings and columns (app.geometryFor / app.column caches), the hidden mask and the
// per-cell flags (selection, highlight groups, cross-highlight), and the drawing parameters.
import { createRenderer } from "./choose.js";
import { Camera } from "../camera/camera.js";
import { ScreenIndex, updatedIndex, pickCell, projectCell } from "../interaction/spatial.js";
import { colorRange, buildPalette, columnLevels, withGroups, levelOrder, rgbaFromIndex } from "../color/colorize.js";
import { emphasisList } from "../state/views.js";

export class SnapshotView {
  /** `app`: the App; `canvas` / `overlay`: this view's canvas and SVG overlay; `state`: its ViewState. */
  constructor(app, canvas, overlay, state) {
    this.app = app;
    this.canvas = canvas;
    this.overlay = overlay;
    this.state = state;
    // the same kind of renderer as the live view (a page never mixes WebGL and CPU drawing)
    this.renderer = createRenderer(canvas, { renderer: app.renderer.kind });
    this.camera = new Camera();
    this.renderer.camera = this.camera;
    this.index = new ScreenIndex();
    this.geom = null;
    this.colorColumn = null;
    this.order = null;
    this.colorIndex = null;
    this.palette = null;
    this.onFrame = null;
    this.renderer.onFrame = () => this.onFrame && this.onFrame(this);
    this.renderer.setParams({ ...app.renderer.params });
    this.loading = this.apply(state, true);
  }

  get n() {
    return this.app.n;
  }

  /** The shared hidden mask (filters, hidden categories, host visibility). */
  get hidden() {
    return this.app.hidden;
  }

  /** Load what `state` needs (cached by the app) and draw it; `first`: restore its camera. */
  async apply(state, first = false) {
    this.state = state;
    const app = this.app;
    const geom = await app.geometryFor(state.embedding, state.dimension);
    const col = state.colorBy ? await app.column(state.colorBy.kind, state.colorBy.name, state.colorBy) : null;
    if (this.state !== state || this.disposed) return; // superseded
    if (this.geom !== geom) {
      const sceneChanged = !this.geom || this.geom.dim !== geom.dim;
      this.geom = geom;
      this.renderer.setGeometry(geom, app.n);
      if (sceneChanged) this.camera.setScene(geom.dim, geom.extent);
    }
    if (first && state.camera && state.camera.dim === geom.dim) this.camera.restore(state.camera);
    this.colorColumn = col && col.kind !== "none" ? col : null;
    this._levelsKey = null;
    this.recolor();
    this.updateFlags();
  }

  /** Color range for a continuous coloring (the view's own clip / range). */
  colorRangeNow() {
    const col = this.colorColumn;
    return col && col.kind === "continuous" ? colorRange(col, this.state) : null;
  }

  /** Palette indices, draw order and palette from the view's coloring and the shared groups. */
  recolor() {
    const app = this.app;
    if (!app.n) return;
    const col = this.colorColumn;
    const s = { ...this.state, theme: app.store.get().theme };
    const groups = app.activeGroups();
    const levelsKey = [col, this.state.colormap, ...(this.state.range || []), ...(this.state.clip || []), groups.length];
    if (!this._levelsKey || levelsKey.some((x, i) => x !== this._levelsKey[i])) {
      this.levels = columnLevels(col, app.n, s, groups.length);
      this.order = col && col.kind === "continuous" ? levelOrder(this.levels) : null;
      this.renderer.setOrder(this.order);
      this._levelsKey = levelsKey;
    }
    this.colorIndex = withGroups(this.levels, col, groups);
    this.renderer.setColorIndex(this.colorIndex);
    this.palette = buildPalette(col, s, groups);
    this.renderer.setPalette(this.palette);
    this._rgba = null;
  }

  /** The shared per-cell flags (null: nothing flagged), emphasized in this view's draw order. */
  updateFlags() {
    const app = this.app;
    const f = app.flagsShown;
    if (!f || !this.geom) this.renderer.setFlags(null, null);
    else this.renderer.setFlags(f, emphasisList(f, app.hidden, this.order, app.n));
  }

  /** RGBA bytes per cell as drawn (for figure export). */
  get colors() {
    if (!this._rgba) this._rgba = rgbaFromIndex(this.colorIndex, this.palette, this.app.n);
    return this._rgba;
  }

  setParams(p) {
    this.renderer.setParams(p);
  }

  requestRender(motion = false) {
    this.renderer.requestRender(motion);
  }

  /** Follow the canvas' CSS size. */
  resize(w, h, dpr) {
    const W = Math.max(1, Math.round(w * dpr)), H = Math.max(1, Math.round(h * dpr));
    if (this.canvas.width === W && this.canvas.height === H && this.camera.width === Math.max(1, w) && this.camera.height === Math.max(1, h)) return;
    this.canvas.width = W;
    this.canvas.height = H;
    this.camera.setViewport(w, h);
    this.renderer.setParams({ dpr });
    this.index.invalidate();
    this.requestRender();
  }

  /** The cell under (x, y) in CSS px relative to this canvas, or null. */
  pick(x, y) {
    return pickCell(this, this.app, x, y, this.app.store.get().pointSize);
  }

  cellsInPolygon(poly) {
    return updatedIndex(this, this.app).inPolygon(poly);
  }

  /** Where cell `i` is drawn in this view (CSS px relative to its canvas), or null. */
  project(i) {
    return projectCell(this, i);
  }

  /** The ViewState with the camera as it is now (sessions, Python). */
  current() {
    return { ...this.state, camera: this.camera.snapshot() };
  }

  dispose() {
    this.disposed = true;
    const gl = this.renderer.gl;
    // free the WebGL context now: browsers keep only ~16 and warn when they drop old ones
    if (gl) gl.getExtension("WEBGL_lose_context")?.loseContext();
  }
}
