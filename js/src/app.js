// The application: wires data, state, renderer, camera, interaction and UI together.
// Data flow: store changes -> (load data if needed) -> colors / flags -> renderer.requestRender().
import { api } from "./data/client.js";
import { Store, initialState } from "./state/store.js";
import { computeHidden } from "./state/visibility.js";
import { buildGeometry } from "./render/geometry.js";
import { createRenderer } from "./render/choose.js";
import { Camera } from "./camera/camera.js";
import { ScreenIndex, updatedIndex, pickCell, projectCell } from "./interaction/spatial.js";
import { attachPointer, attachFlyKeys } from "./interaction/pointer.js";
import { colorRange, buildPalette, columnLevels, withGroups, levelOrder, rgbaFromIndex, paletteBase } from "./color/colorize.js";
import { shownGeometry, restrip } from "./render/strip1d.js";
import { firstView } from "./data/startup.js";
import { mark } from "./perf.js";
import { parseColor } from "./color/palettes.js";
import { VectorLayer } from "./state/vectorFields.js";
import { Neighborhoods, selectCells } from "./state/selection.js";
import { loadPlan, PartialEmbedding, spreadColumn } from "./data/progressive.js";
import { streamRest } from "./state/progressiveLoad.js";
import { analysisApi, signatureColumn, signatureKey } from "./data/analysis.js";
import { describeApp } from "./state/describe.js";

/** How long the first frame waits for the default colors when the points are there first. */
const FIRST_COLOR_WAIT_MS = 100;

export function defaultPointSize(n) {
  return n < 5e3 ? 5 : n < 5e4 ? 4 : n < 5e5 ? 2.5 : 1.5;
}

export class App {
  constructor(dom) {
    this.dom = dom; // {canvas, overlay}
    this.store = new Store(initialState());
    this.camera = new Camera();
    this.renderer = createRenderer(dom.canvas, window.__cellucidBoot);
    this.renderer.camera = this.camera;
    this.index = new ScreenIndex();
    this.vectors = new VectorLayer(this, dom.vectorCanvas);
    this.neighborhoods = new Neighborhoods(this);
    this.identity = null;
    this.n = 0;
    this.geom = null;
    this.geomCache = new Map();
    this.columns = new Map(); // "field:name" | "gene:name" -> column (promise while loading)
    this.colorColumn = null;
    this.hidden = null;
    this.visibleCount = 0;
    this.hiddenVersion = 0;
    this.listeners = { progress: new Set(), error: new Set(), selection: new Set(), hover: new Set(), click: new Set(), frame: new Set(), colors: new Set(), flags: new Set(), params: new Set() };
    this.firstColoredFrame = false;
    this.panelsMounted = false;
    let resolveReady;
    this.ready = new Promise((r) => (resolveReady = r));
    this._resolveReady = resolveReady;
    this.renderer.onFrame = () => {
      if (!this.firstColoredFrame && this.colorColumn && this.geom) {
        this.firstColoredFrame = true;
        this.markReadyIfDone();
      }
      this.vectors.followCamera(this.camera.version);
      this.emit("frame");
    };
  }

  get isReady() {
    return this.firstColoredFrame && this.panelsMounted;
  }

  /** main.js: the side panels exist (they are built after the first frame is on screen). */
  panelsDone() {
    this.panelsMounted = true;
    this.markReadyIfDone();
  }

  /**
   * Ready — `body[data-ready="1"]`, `app.ready` resolved — once the first colored frame is
   * drawn and the panels around it exist: from then on every control can be used.
   */
  markReadyIfDone() {
    // called as each of the two becomes true, so only the second call gets past this
    if (!this.isReady) return;
    document.body.dataset.ready = "1";
    this._resolveReady(this.snapshot());
  }

  on(event, fn) {
    this.listeners[event].add(fn);
    return () => this.listeners[event].delete(fn);
  }

  emit(event, ...args) {
    for (const fn of this.listeners[event]) fn(...args);
  }

  progress(label, fraction) {
    this.emit("progress", label, fraction);
  }

  fail(err, what) {
    console.warn(`cellucid: ${what}:`, err);
    this.emit("error", `${what}: ${err.message}`, err.hint || "");
  }

  // ---------------------------------------------------------------- startup

  /**
   * Read the dataset's identity and start loading what the first frame shows: the embedding
   * and the default color field are requested together (the smaller color column usually
   * arrives first, so the first frame is already colored; if not, the points are drawn in a
   * neutral color and colored when it arrives). Resolves once both loads are under way;
   * `geometryLoading` resolves when the points are on the GPU.
   */
  async start(initial = {}) {
    this.progress("Loading dataset description…", 0);
    const id = (this.identity = await api.identity());
    mark("identity");
    this.n = id.stats.n_cells;
    // large datasets: a sample first, then the rest streamed (data/progressive.js)
    this.plan = loadPlan(this.n);
    this.sampleColumns = !!this.plan; // the first colors, too, only for the sample
    this.partialColumns = new Set();
    this.hidden = new Uint8Array(this.n);
    this.flags = new Uint8Array(this.n);
    const view = firstView(id, initial);
    this.store.set({ pointSize: defaultPointSize(this.n), theme: initial.theme || this.store.get().theme });
    this.store.subscribe((s, changed) => this.onChange(s, changed));
    this.applyTheme();
    this.recolor(); // the neutral palette until colors arrive
    if (!view.embedding) {
      this.emit("error", "This dataset has no embedding to show.", "add an obsm key such as X_umap (2 or 3 columns)");
      return;
    }
    this.store.set({ embedding: view.embedding, dimension: view.dimension });
    if (view.colorBy) this.setColorBy(view.colorBy);
    else {
      // nothing to color by: the neutral picture is the first "colored" frame
      this.colorColumn = { kind: "none" };
      this.renderer.requestRender();
    }
    // While the data are on the wire: once the shaders are linked (asked without waiting),
    // let the GPU compile the draw routines the first frame needs. Skipped when the points
    // are there first — then the first frame does it.
    const warm = () => {
      if (this.geom) return;
      if (!this.renderer.linked()) return void setTimeout(warm, 8);
      try {
        this.renderer.warmUp(view.dimension === 3 ? 3 : 2, !!view.colorBy);
      } catch (e) {
        this.fail(e, "WebGL");
      }
    };
    setTimeout(warm, 0);
  }

  // ---------------------------------------------------------------- reactions

  onChange(s, changed) {
    if (changed.has("embedding") || changed.has("dimension")) this.loadGeometry(s.embedding, s.dimension);
    if (changed.has("colorBy")) this.colorLoading = this.loadColor(s.colorBy);
    if (["colormap", "clip", "range", "highlightGroups", "activePage", "theme", "sortOrder", "zeroNeutral"].some((k) => changed.has(k))) this.recolor();
    // (a new colorBy changes what is hidden only once its column is applied: loadColor)
    if (["hiddenCategories", "filters", "externalHidden"].some((k) => changed.has(k))) this.recomputeHidden();
    if (["selection", "highlightGroups", "activePage", "crossHighlight"].some((k) => changed.has(k))) this.updateFlags();
    if (["pointSize", "opacity", "theme", "crossHighlight"].some((k) => changed.has(k))) this.updateParams();
    if (changed.has("theme")) this.applyTheme();
    if (["vectors", "vectorField", "embedding", "dimension", "filters", "hiddenCategories", "externalHidden", "theme"].some((k) => changed.has(k))) this.vectors.update();
    else if (changed.has("vectorParams")) this.vectors.updateParams();
    if (changed.has("selection")) this.emit("selection", s.selection, s.selectionSource);
  }

  applyTheme() {
    document.documentElement.dataset.theme = this.store.get().theme;
    // read once per theme: getComputedStyle forces a style recalculation
    const bg = getComputedStyle(document.documentElement).getPropertyValue("--bg").trim() || "#ffffff";
    this.bg = parseColor(bg).map((v) => v / 255);
    this.updateParams();
  }

  updateParams() {
    const s = this.store.get();
    this.renderer.setParams({
      size: s.pointSize,
      opacity: s.opacity,
      bg: this.bg || [1, 1, 1],
      dpr: window.devicePixelRatio || 1,
      // a selection or a cross-highlighted category: the other cells fade (in every view)
      dimOthers: s.selection.length > 0 || !!(s.crossHighlight && s.crossHighlight.cells.length),
    });
    this.emit("params", this.renderer.params);
  }

  /** The points of `key` in `dim` D, loaded once and shared by every view (render/view.js). */
  geometryFor(key, dim) {
    const cacheKey = `${key}|${dim}`;
    if (!this.geomCache.has(cacheKey)) {
      const label = `Loading ${key} (${dim}D)`;
      const p = api.embedding(key, dim, this.n, (f) => this.progress(label, f)).then((emb) => {
        mark("embedding");
        const geom = buildGeometry(emb, this.n);
        this.geomCache.set(cacheKey, geom);
        return geom;
      });
      p.catch(() => this.geomCache.delete(cacheKey));
      this.geomCache.set(cacheKey, p);
    }
    return Promise.resolve(this.geomCache.get(cacheKey));
  }

  loadGeometry(key, dim) {
    const run = async () => {
      const cacheKey = `${key}|${dim}`;
      let geom = null;
      let partial = null;
      const plan = this.plan;
      if (plan && !this.geomCache.has(cacheKey)) {
        // progressive (state/progressiveLoad.js): a strided sample first, the rest streamed
        const label = `Loading ${key} (${dim}D)`;
        const first = await api.embedding(key, dim, plan.sampleCount, (f) => this.progress(label, f), plan.sample);
        partial = new PartialEmbedding(this.n, dim, first.bounds);
        partial.add(first.data, plan.sample);
        geom = buildGeometry({ data: partial.positions, dim, bounds: first.bounds }, this.n, partial);
        mark("embedding");
      } else {
        geom = await this.geometryFor(key, dim);
      }
      if (!this.colorColumn && this.colorLoading) {
        // The first colors are on their way (requested with the embedding): give them a
        // moment, so the first frame is drawn once, colored — a neutral frame first would
        // hold the colored one back by a whole draw (~1 s for 1M points on software GL).
        await Promise.race([this.colorLoading, new Promise((r) => setTimeout(r, FIRST_COLOR_WAIT_MS))]);
      }
      const s = this.store.get();
      if (s.embedding !== key || s.dimension !== dim) return; // superseded
      geom = shownGeometry(this, geom); // 1D: density strips per category
      const sceneChanged = !this.geom || this.geom.dim !== geom.dim || this.geom !== geom;
      this.geom = geom;
      this.renderer.setGeometry(geom, this.n);
      if (sceneChanged) this.camera.setScene(geom.dim, geom.extent);
      this.recomputeHidden();
      if (!partial) this.progress("", 1);
      this.drawFirstColoredFrame();
      if (partial) await streamRest(this, key, dim, partial);
    };
    this.geometryLoading = run().catch((e) => this.fail(e, `could not load embedding ${key}`));
    return this.geometryLoading;
  }

  /**
   * Once points and their first colors are both in: draw now rather than in the next
   * animation frame, which may be long in coming while the browser paints the freshly built
   * page (measured 30–300 ms in headless Chromium) — the first picture is what users wait for.
   */
  drawFirstColoredFrame() {
    if (!this.firstColoredFrame && this.geom && this.colorColumn) this.renderer.drawNow();
  }

  /**
   * Load (or reuse) a field or gene column, or a signature score (`spec`: its genes and
   * method, as a colorBy of kind "signature" holds them).
   */
  column(kind, name, spec = null) {
    if (kind === "signature" && !(spec && Array.isArray(spec.genes) && spec.genes.length)) {
      const err = new Error(`${name} has no gene list to score (a session saved before signatures were kept)`);
      return Promise.reject(Object.assign(err, { hint: "score it again in the Analysis panel's Signature tab" }));
    }
    const key = kind === "signature" ? signatureKey(spec) : `${kind}:${name}`;
    if (!this.columns.has(key)) {
      const label = `Loading ${kind === "gene" ? "gene " : ""}${name}`;
      const onProgress = (f) => this.progress(label, f);
      // while a sample is all there is to see, a field's colors for the sample only
      const sample = kind === "field" && this.sampleColumns ? this.plan : null;
      if (sample) this.partialColumns.add(key);
      const p = (kind === "gene"
        ? api.gene(name, this.n, onProgress)
        : kind === "signature"
          ? analysisApi.signature(spec.genes, spec.method).then((ans) => signatureColumn(name, ans, spec))
          : sample
          ? api.field(name, sample.sampleCount, onProgress, sample.sample).then((c) => spreadColumn(c, this.n, sample.sample))
          : api.field(name, this.n, onProgress))
        .then((c) => {
          this.columns.set(key, c);
          this.progress("", 1);
          return c;
        })
        .catch((e) => {
          this.columns.delete(key);
          throw e;
        });
      this.columns.set(key, p);
    }
    const got = Promise.resolve(this.columns.get(key));
    // the same genes scored twice share one column; each coloring keeps its own name
    return kind === "signature" ? got.then((c) => (c.name === name ? c : { ...c, name })) : got;
  }

  /**
   * Forget a field's loaded column (the annotation consensus after a vote) and, when the
   * points are colored by it, load and apply it again.
   */
  refreshField(name) {
    this.columns.delete(`field:${name}`);
    const s = this.store.get();
    if (s.colorBy && s.colorBy.kind === "field" && s.colorBy.name === name) this.colorLoading = this.loadColor(s.colorBy);
    return this.colorLoading;
  }

  async loadColor(colorBy) {
    if (!colorBy) return;
    try {
      const col = await this.column(colorBy.kind, colorBy.name, colorBy);
      const s = this.store.get();
      if (s.colorBy !== colorBy) return; // superseded
      this.colorColumn = col;
      mark("colors");
      restrip(this); // 1D: one density strip per category of the new column
      this.recolor(false); // indices, draw order, palette
      this.recomputeHidden(false); // hidden categories of this field
      this.updateFlags(); // the emphasized cells follow the new draw order
      this.emit("colors", col); // once, now that all of it is applied
      this.drawFirstColoredFrame();
    } catch (e) {
      this.fail(e, `could not color by ${colorBy.name}`);
    }
  }

  /**
   * Bring the GPU's colors up to date with the column and the color state: palette indices
   * (rebuilt only when the column, its range or the highlighted cells change) and the palette
   * (always: a few KB). Before any column, every cell takes the neutral palette entry.
   */
  recolor(notify = true) {
    if (!this.n) return;
    const s = this.store.get();
    const col = this.colorColumn && this.colorColumn.kind !== "none" ? this.colorColumn : null;
    const groups = this.activeGroups();
    const range = col && col.kind === "continuous" ? colorRange(col, s) : null;
    const wide = paletteBase(col) + groups.length > 65536;
    const lk = this._levelsKey;
    const zero = !!s.zeroNeutral, sorted = !!s.sortOrder;
    if (!lk || lk.col !== col || lk.wide !== wide || lk.zero !== zero || lk.sorted !== sorted || (range && (range[0] !== lk.range[0] || range[1] !== lk.range[1]))) {
      this.levels = col ? columnLevels(col, this.n, s, groups.length) : null;
      this._levelsKey = { col, wide, range, zero, sorted };
      // scanpy's sort_order: higher values on top; off: index order, as stored
      const order = col && col.kind === "continuous" && sorted ? levelOrder(this.levels) : null;
      if (order || this.order) {
        this.order = order;
        this.renderer.setOrder(order);
        this.updateFlags(); // the emphasized cells are drawn in this order too
      }
    }
    let index = this.levels;
    if (groups.some((g) => g.visible && g.cells.length)) {
      // reuse the last copy when neither the levels nor the groups changed (e.g. a colormap change)
      const gk = [this.levels, ...groups];
      const last = this._groupKey;
      if (last && last.length === gk.length && gk.every((x, i) => x === last[i])) index = this.colorIndex;
      else {
        index = withGroups(this.levels || new Uint16Array(this.n), col, groups);
        this._groupKey = gk;
      }
    } else this._groupKey = null;
    if (index !== this.colorIndex) {
      this.colorIndex = index;
      this.renderer.setColorIndex(index);
    }
    this.palette = buildPalette(col, s, groups);
    this.renderer.setPalette(this.palette);
    this._rgba = null;
    if (col && notify) this.emit("colors", this.colorColumn);
  }

  /** RGBA bytes per cell as drawn (Uint8Array n*4; built on demand, for export and tests). */
  get colors() {
    if (!this._rgba) this._rgba = rgbaFromIndex(this.colorIndex, this.palette, this.n);
    return this._rgba;
  }

  recomputeHidden(notify = true) {
    if (!this.geom) return;
    const s = this.store.get();
    const col = this.colorColumn;
    const hiddenCodes = col && col.kind === "categorical" ? s.hiddenCategories[col.name] : null;
    // same inputs, same mask: skip the passes over every cell
    const key = [this.geom, s.filters, hiddenCodes && hiddenCodes.length ? col : null, hiddenCodes, s.externalHidden];
    if (this._hiddenKey && key.every((x, i) => x === this._hiddenKey[i])) {
      if (notify) this.emit("colors", col);
      return;
    }
    this._hiddenKey = key;
    this.visibleCount = computeHidden(this.hidden, this.n, {
      invalid: this.geom.nInvalid ? this.geom.invalid : null,
      filters: s.filters,
      colorColumn: col,
      hiddenCodes,
      externalHidden: s.externalHidden,
    });
    this.index.hiddenVersion = ++this.hiddenVersion;
    this.updateFlags();
    if (notify) this.emit("colors", col);
  }

  /**
   * Per-cell flags (hidden / selected / highlighted) and the emphasized cells drawn on top.
   * Nothing flagged (the common case) uploads nothing: the shader hides cells without
   * coordinates by itself.
   */
  updateFlags() {
    if (!this.geom) return;
    const s = this.store.get();
    const groups = this.activeGroups().filter((g) => g.visible && g.cells.length);
    const ch = s.crossHighlight && s.crossHighlight.cells.length ? s.crossHighlight : null;
    const key = [this.hiddenVersion, s.selection, this.order, ch, ...groups];
    if (this._flagsKey && key.length === this._flagsKey.length && key.every((x, i) => x === this._flagsKey[i])) return;
    this._flagsKey = key;
    const hidden = this.hidden;
    const hiddenBeyondInvalid = this.visibleCount < this.n - this.geom.nInvalid;
    if (!hiddenBeyondInvalid && !s.selection.length && !groups.length && !ch) {
      this.renderer.setFlags(null, null);
      this.flagsShown = null;
      this.emit("flags", null);
      this.updateParams();
      return;
    }
    const f = this.flags;
    f.set(hidden);
    for (const i of s.selection) f[i] |= 2;
    for (const g of groups) for (const i of g.cells) f[i] |= 4;
    // cross-highlighted cells (a hovered / pinned legend entry) are emphasized like a group
    if (ch) for (const i of ch.cells) f[i] |= 4;
    // emphasized cells are drawn again on top, in the same order as pass 1 (value order for
    // continuous colors, so high values stay on top inside the selection too)
    let emph = new Uint32Array(0);
    if (s.selection.length || groups.length || ch) {
      let k = 0;
      const n = this.n;
      for (let i = 0; i < n; i++) if (f[i] & 6 && !hidden[i]) k++;
      emph = new Uint32Array(k);
      k = 0;
      if (this.order) {
        const o = this.order;
        for (let j = 0; j < n; j++) {
          const i = o[j];
          if (f[i] & 6 && !hidden[i]) emph[k++] = i;
        }
      } else {
        for (let i = 0; i < n; i++) if (f[i] & 6 && !hidden[i]) emph[k++] = i;
      }
    }
    this.renderer.setFlags(f, emph);
    this.flagsShown = f; // the other views draw the same flags (render/view.js)
    this.emit("flags", f);
    this.updateParams();
  }

  /** Highlight groups of the active page (only those are drawn). */
  activeGroups() {
    const s = this.store.get();
    return s.highlightGroups.filter((g) => (g.page ?? s.activePage) === s.activePage);
  }

  pageName(id) {
    const p = this.store.get().groupPages.find((x) => x.id === id);
    return p ? p.name : null;
  }

  // ---------------------------------------------------------------- actions

  /** Schedule a frame; `motion`: it follows a moving camera (see RendererBase.requestRender). */
  requestRender(motion = false) {
    this.renderer.requestRender(motion);
  }

  /**
   * Color by an obs field or, if no field has that name, a gene; `spec` completes a kind that
   * needs more than a name (a signature's genes and method).
   */
  setColorBy(name, kind, spec = {}) {
    if (!kind) kind = this.identity.fields.some((f) => f.name === name) ? "field" : "gene";
    this.store.set({ colorBy: { ...spec, kind, name }, range: null });
  }

  setEmbedding(key) {
    const info = this.identity.embeddings.find((e) => e.key === key);
    if (!info) throw new Error(`unknown embedding ${key}`);
    const s = this.store.get();
    const dim = info.dimensions.includes(s.dimension) ? s.dimension : Math.min(2, Math.max(...info.dimensions));
    this.store.set({ embedding: key, dimension: dim });
    return this.geometryLoading;
  }

  setDimension(d) {
    d = Number(d);
    const info = this.identity.embeddings.find((e) => e.key === this.store.get().embedding);
    if (!info || !info.dimensions.includes(d)) throw new Error(`embedding has no ${d}D view`);
    this.store.set({ dimension: d });
    return this.geometryLoading;
  }

  resetView() {
    this.camera.reset();
    this.requestRender();
  }

  // The view interface (shared with the snapshot views of render/view.js): cells under a
  // lasso, the cell under the pointer, a cell's screen position.

  /** Cells inside a polygon (CSS px relative to the canvas) in the current view. */
  cellsInPolygon(poly) {
    return updatedIndex(this, this).inPolygon(poly);
  }

  pick(x, y) {
    return pickCell(this, this, x, y, this.store.get().pointSize);
  }

  project(i) {
    return projectCell(this, i);
  }

  colorRangeNow() {
    const col = this.colorColumn;
    return col && col.kind === "continuous" ? colorRange(col, this.store.get()) : null;
  }

  /** Plain description of the state for tests, the bridge and session files (state/describe.js). */
  snapshot() {
    return describeApp(this);
  }

  attachInteraction({ onHover, onClick }) {
    const requestRender = (motion) => this.requestRender(motion);
    this.attachViewInteraction({ canvas: this.dom.canvas, overlay: this.dom.overlay, camera: this.camera, view: this, onHover, onClick });
    attachFlyKeys({ camera: this.camera, store: this.store, requestRender });
  }

  /**
   * Pointer interaction on one view (the live one, or a snapshot: render/view.js): its own
   * camera; hover, clicks and lassos act on the shared store.
   */
  attachViewInteraction({ canvas, overlay, camera, view, onHover, onClick }) {
    return attachPointer({
      canvas,
      overlay,
      camera,
      store: this.store,
      requestRender: (motion) => view.requestRender(motion),
      onHover: (xy, e) => {
        const cell = xy ? view.pick(xy[0], xy[1]) : null;
        this.store.set({ hover: cell });
        this.emit("hover", cell, xy, e);
        if (onHover) onHover(cell, xy);
      },
      onClick: (xy, mods) => {
        const cell = view.pick(xy[0], xy[1]);
        this.emit("click", cell, mods);
        if (cell == null) return;
        if (this.store.get().tool === "proximity" || mods.alt) {
          this.neighborhoods.selectProximity(cell, mods.shift ? "add" : "new").catch((e) => this.fail(e, "proximity selection"));
          return;
        }
        const has = this.store.get().selection.includes(cell);
        if (mods.shift || mods.ctrl) selectCells(this.store, [cell], "click", has ? "remove" : "add");
        else selectCells(this.store, [cell], "click");
        if (onClick) onClick(cell);
      },
      onLasso: (poly, { add, remove }) => {
        const cells = view.cellsInPolygon(poly);
        selectCells(this.store, cells, "lasso", remove ? "remove" : add ? "add" : "new");
      },
    });
  }
}
