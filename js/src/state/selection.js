// The selection operations: new / add / remove a set of cells, a category's cells, the
// cells near a clicked cell (proximity) and the k nearest neighbours of the selection.
// All of them end in one store update ({selection, selectionSource}); the App reacts to it.
import { api } from "../data/client.js";
import { union, difference } from "./sets.js";
import { NeighborGrid } from "../interaction/neighbors.js";
import { latentNearest } from "../interaction/latentKnn.js";
import { categoryCells } from "./cross.js";

/** Make `cells` the selection (`mode` "new"), or add them to it / remove them from it. */
export function selectCells(store, cells, source, mode = "new") {
  const s = store.get();
  let sel = Uint32Array.from(cells).sort();
  if (mode === "add") sel = union(s.selection, sel);
  else if (mode === "remove") sel = difference(s.selection, sel);
  store.set({ selection: sel, selectionSource: source });
}

export function clearSelection(store) {
  store.set({ selection: new Uint32Array(0), selectionSource: "clear" });
}

/** Select the visible cells of category `code` (-1: missing) of a categorical column. */
export function selectCategory(store, col, hidden, n, code, mode = "new") {
  if (!col || col.kind !== "categorical") return;
  const cells = categoryCells(col, code, n).filter((i) => !hidden[i]);
  selectCells(store, cells, "category", mode);
}

/**
 * Selections that need the neighbourhood of cells: proximity (a radius in embedding units
 * around a clicked cell) and k-NN growth (the dataset's latent space or stored graph when the
 * server has one, else the shown embedding). Reads from `view`: store, n, hidden,
 * hiddenVersion, geom, identity.
 */
export class Neighborhoods {
  constructor(view) {
    this.view = view;
    this.rawCache = new Map();
    this.grid = null;
  }

  /** Raw float32 coordinates of the current embedding/dimension (cached). */
  rawCoords() {
    const v = this.view;
    const s = v.store.get();
    const key = `${s.embedding}|${s.dimension}`;
    if (!this.rawCache.has(key)) {
      const p = api.embeddingRaw(s.embedding, s.dimension, v.n).catch((e) => (this.rawCache.delete(key), Promise.reject(e)));
      this.rawCache.set(key, p);
    }
    return this.rawCache.get(key);
  }

  /** A NeighborGrid over the visible cells of the current view (rebuilt when they change). */
  async neighborGrid() {
    const v = this.view;
    const s = v.store.get();
    const key = `${s.embedding}|${s.dimension}|${v.hiddenVersion}`;
    if (this.grid && this.grid.key === key) return this.grid.grid;
    const raw = await this.rawCoords();
    const grid = new NeighborGrid(raw.data, raw.dim, v.hidden, v.n);
    this.grid = { key, grid };
    return grid;
  }

  /** Proximity radius in raw embedding units: the user's, or 5 % of the data's longest side. */
  radius() {
    const v = this.view;
    const r = v.store.get().proximityRadius;
    if (r != null) return r;
    if (!v.geom) return null;
    return +(0.05 * (2 / v.geom.unit)).toPrecision(2);
  }

  /** Select every visible cell within the proximity radius of `cell`; resolves to their count. */
  async selectProximity(cell, mode = "new") {
    const grid = await this.neighborGrid();
    const cells = grid.withinRadius(cell, this.radius());
    selectCells(this.view.store, cells, "proximity", mode);
    return cells.length;
  }

  /**
   * Grow the selection by the k nearest visible neighbours of each selected cell: in the
   * dataset's latent space or stored graph when it has one (identity.neighbors, measured by
   * the server), otherwise in the shown embedding. Resolves to the new selection's size.
   */
  async growKnn(k = this.view.store.get().knnK) {
    const v = this.view;
    const sel = v.store.get().selection;
    if (!sel.length) return 0;
    let add;
    if (v.identity && v.identity.neighbors) {
      add = await latentNearest(sel, k, v.hidden, (cells, kk) => api.neighbors(cells, kk));
    } else {
      const grid = await this.neighborGrid();
      add = new Set();
      for (const i of sel) for (const j of grid.nearest(i, k)) add.add(j);
    }
    selectCells(v.store, Uint32Array.from(add), "knn", "add");
    return v.store.get().selection.length;
  }
}
