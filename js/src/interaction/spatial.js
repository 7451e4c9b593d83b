// Screen-space index of the projected cells: one projection of all cells per camera change,
// bucketed into a uniform grid (counting sort, typed arrays only) for hover picking and lasso.

const CELL = 16; // grid cell size in CSS px

export class ScreenIndex {
  constructor() {
    this.key = null;
  }

  /** (Re)project if the camera or geometry changed. `hidden` is the per-cell mask (1 = hidden). */
  update(camera, geom, hidden, n) {
    const key = `${camera.version}|${geom && geom.world.length}|${this.hiddenVersion}`;
    if (this.key === key && this.geom === geom) return;
    this.key = key;
    this.geom = geom;
    const { width: w, height: h } = camera;
    const xy = (this.xy = new Float32Array(n * 2));
    const depth = (this.depth = new Float32Array(n));
    const onScreen = (this.onScreen = new Uint8Array(n));
    const m = camera.matrix;
    const W = geom.world;
    const gw = (this.gw = Math.ceil(w / CELL) + 1);
    const gh = (this.gh = Math.ceil(h / CELL) + 1);
    const counts = new Int32Array(gw * gh + 1);
    const cellOf = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) {
      if (hidden[i]) continue;
      const x = W[3 * i], y = W[3 * i + 1], z = W[3 * i + 2];
      const cw = m[3] * x + m[7] * y + m[11] * z + m[15];
      if (cw <= 0) continue;
      const sx = (((m[0] * x + m[4] * y + m[8] * z + m[12]) / cw + 1) / 2) * w;
      const sy = ((1 - (m[1] * x + m[5] * y + m[9] * z + m[13]) / cw) / 2) * h;
      const sz = (m[2] * x + m[6] * y + m[10] * z + m[14]) / cw;
      xy[2 * i] = sx;
      xy[2 * i + 1] = sy;
      depth[i] = sz;
      // the grid cell of the position as stored (float32): a lasso edge exactly through a
      // point must find it in the cell its stored position says
      const fx = xy[2 * i], fy = xy[2 * i + 1];
      if (fx < 0 || fy < 0 || fx >= w || fy >= h || sz < -1 || sz > 1) continue;
      onScreen[i] = 1;
      const c = Math.floor(fy / CELL) * gw + Math.floor(fx / CELL);
      cellOf[i] = c;
      counts[c + 1]++;
    }
    for (let c = 0; c < gw * gh; c++) counts[c + 1] += counts[c];
    const start = (this.start = counts.slice());
    const items = (this.items = new Uint32Array(counts[gw * gh]));
    const fill = counts; // reuse as write cursor
    for (let i = 0; i < n; i++) if (cellOf[i] >= 0) items[fill[cellOf[i]]++] = i;
    this.start = start;
  }

  invalidate() {
    this.key = null;
  }

  /** Nearest visible cell within `radius` px of (x, y); in 3D the front-most among near ties. */
  pick(x, y, radius) {
    if (!this.items) return null;
    const { gw, gh, start, items, xy, depth } = this;
    const r2 = radius * radius;
    let best = null, bestD = Infinity, bestZ = Infinity;
    const c0 = Math.max(0, Math.floor((x - radius) / CELL)), c1 = Math.min(gw - 1, Math.floor((x + radius) / CELL));
    const r0 = Math.max(0, Math.floor((y - radius) / CELL)), r1 = Math.min(gh - 1, Math.floor((y + radius) / CELL));
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * gw + c;
        for (let k = start[cell]; k < start[cell + 1]; k++) {
          const i = items[k];
          const dx = xy[2 * i] - x, dy = xy[2 * i + 1] - y;
          const d = dx * dx + dy * dy;
          if (d > r2) continue;
          // prefer the nearer-to-camera one when both are within the point radius
          if (d < bestD - 1 || (Math.abs(d - bestD) <= 1 && depth[i] < bestZ)) {
            best = i;
            bestD = d;
            bestZ = depth[i];
          }
        }
      }
    }
    return best;
  }

  /**
   * All visible on-screen cells inside polygon `poly` ([[x,y],...], CSS px), ascending, as a
   * Uint32Array. Only the points in grid cells the outline passes through are tested one by
   * one (even-odd rule); a grid cell the outline misses is wholly inside or outside, which its
   * center tells — a lasso over half of a million cells then tests a few percent of them.
   */
  inPolygon(poly) {
    if (!this.items || poly.length < 3) return new Uint32Array(0);
    const { gw, gh, start, items, xy } = this;
    const m = poly.length;
    const px = new Float64Array(m), py = new Float64Array(m);
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    poly.forEach(([a, b], k) => {
      px[k] = a;
      py[k] = b;
      minX = Math.min(minX, a); maxX = Math.max(maxX, a);
      minY = Math.min(minY, b); maxY = Math.max(maxY, b);
    });
    const inside = (x, y) => {
      let odd = false;
      for (let a = 0, b = m - 1; a < m; b = a++) {
        if (py[a] > y !== py[b] > y && x < ((px[b] - px[a]) * (y - py[a])) / (py[b] - py[a]) + px[a]) odd = !odd;
      }
      return odd;
    };
    const outline = outlineCells(px, py, gw, gh);
    const n = xy.length >> 1;
    const chosen = new Uint8Array(n);
    let count = 0;
    const c0 = Math.max(0, Math.floor(minX / CELL)), c1 = Math.min(gw - 1, Math.floor(maxX / CELL));
    const r0 = Math.max(0, Math.floor(minY / CELL)), r1 = Math.min(gh - 1, Math.floor(maxY / CELL));
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * gw + c;
        const k0 = start[cell], k1 = start[cell + 1];
        if (k0 === k1) continue;
        if (!outline[cell]) {
          if (!inside((c + 0.5) * CELL, (r + 0.5) * CELL)) continue;
          for (let k = k0; k < k1; k++) chosen[items[k]] = 1;
          count += k1 - k0;
          continue;
        }
        for (let k = k0; k < k1; k++) {
          const i = items[k];
          const x = xy[2 * i], y = xy[2 * i + 1];
          if (x < minX || x > maxX || y < minY || y > maxY || !inside(x, y)) continue;
          chosen[i] = 1;
          count++;
        }
      }
    }
    // collected in index order: ascending without a sort
    const out = new Uint32Array(count);
    for (let i = 0, j = 0; j < count; i++) if (chosen[i]) out[j++] = i;
    return out;
  }
}

/**
 * The grid cells (gw × gh, CELL px each) that the closed outline (px, py) touches: those whose
 * closed square a segment meets (the segment's bounding box, less the squares wholly on one side
 * of its line). A cell not marked lies wholly inside or wholly outside the outline.
 */
function outlineCells(px, py, gw, gh) {
  const marked = new Uint8Array(gw * gh);
  const m = px.length;
  for (let a = 0, b = m - 1; a < m; b = a++) {
    const x0 = px[b], y0 = py[b], x1 = px[a], y1 = py[a];
    const ca = Math.max(0, Math.floor(Math.min(x0, x1) / CELL) - 1), cb = Math.min(gw - 1, Math.floor(Math.max(x0, x1) / CELL) + 1);
    const ra = Math.max(0, Math.floor(Math.min(y0, y1) / CELL) - 1), rb = Math.min(gh - 1, Math.floor(Math.max(y0, y1) / CELL) + 1);
    const dx = x1 - x0, dy = y1 - y0;
    // a square whose four corners lie strictly on one side of the segment's line is missed
    const side = (x, y) => dx * (y - y0) - dy * (x - x0);
    const slack = 1e-9 * (Math.abs(dx) + Math.abs(dy) + 1) * CELL;
    for (let r = ra; r <= rb; r++) {
      for (let c = ca; c <= cb; c++) {
        const X0 = c * CELL, X1 = X0 + CELL, Y0 = r * CELL, Y1 = Y0 + CELL;
        if (X1 < Math.min(x0, x1) - 1e-9 || X0 > Math.max(x0, x1) + 1e-9 || Y1 < Math.min(y0, y1) - 1e-9 || Y0 > Math.max(y0, y1) + 1e-9) continue;
        const s1 = side(X0, Y0), s2 = side(X1, Y0), s3 = side(X0, Y1), s4 = side(X1, Y1);
        if ((s1 > slack && s2 > slack && s3 > slack && s4 > slack) || (s1 < -slack && s2 < -slack && s3 < -slack && s4 < -slack)) continue;
        marked[r * gw + c] = 1;
      }
    }
  }
  return marked;
}

// The view interface's picking (the live view, App, and each snapshot, render/view.js): every
// view keeps its own screen index over the hidden mask the views share.

/**
 * `view`'s screen index (`view`: {index, camera, geom}) brought up to date with its camera and
 * the cells shown (`shown`: {hidden, hiddenVersion, n}).
 */
export function updatedIndex(view, shown) {
  view.index.hiddenVersion = shown.hiddenVersion;
  view.index.update(view.camera, view.geom, shown.hidden, shown.n);
  return view.index;
}

/** The cell under (x, y) in CSS px relative to the view's canvas, or null. */
export function pickCell(view, shown, x, y, pointSize) {
  if (!view.geom) return null;
  return updatedIndex(view, shown).pick(x, y, Math.max(4, pointSize / 2 + 2));
}

/** Where cell `i` is drawn in the view (CSS px relative to its canvas), or null. */
export function projectCell(view, i) {
  if (!view.geom) return null;
  const w = view.geom.world;
  const p = view.camera.project(w[3 * i], w[3 * i + 1], w[3 * i + 2]);
  return p ? { x: p[0], y: p[1] } : null;
}
