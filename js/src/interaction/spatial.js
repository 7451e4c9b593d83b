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
      if (sx < 0 || sy < 0 || sx >= w || sy >= h || sz < -1 || sz > 1) continue;
      onScreen[i] = 1;
      const c = Math.floor(sy / CELL) * gw + Math.floor(sx / CELL);
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

  /** All visible on-screen cells inside polygon `poly` ([[x,y],...], CSS px). Uint32Array. */
  inPolygon(poly) {
    if (!this.items || poly.length < 3) return new Uint32Array(0);
    const { gw, gh, start, items, xy } = this;
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    const px = new Float64Array(poly.length), py = new Float64Array(poly.length);
    poly.forEach(([a, b], k) => {
      px[k] = a;
      py[k] = b;
      minX = Math.min(minX, a); maxX = Math.max(maxX, a);
      minY = Math.min(minY, b); maxY = Math.max(maxY, b);
    });
    const out = [];
    const c0 = Math.max(0, Math.floor(minX / CELL)), c1 = Math.min(gw - 1, Math.floor(maxX / CELL));
    const r0 = Math.max(0, Math.floor(minY / CELL)), r1 = Math.min(gh - 1, Math.floor(maxY / CELL));
    const m = poly.length;
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * gw + c;
        for (let k = start[cell]; k < start[cell + 1]; k++) {
          const i = items[k];
          const x = xy[2 * i], y = xy[2 * i + 1];
          if (x < minX || x > maxX || y < minY || y > maxY) continue;
          // even-odd ray casting
          let inside = false;
          for (let a = 0, b = m - 1; a < m; b = a++) {
            if (py[a] > y !== py[b] > y && x < ((px[b] - px[a]) * (y - py[a])) / (py[b] - py[a]) + px[a]) inside = !inside;
          }
          if (inside) out.push(i);
        }
      }
    }
    return Uint32Array.from(out).sort();
  }
}
