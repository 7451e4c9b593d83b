// Neighbourhood queries in embedding units, on the raw float32 coordinates of the current
// embedding and dimension (the quantized GPU copy would move cells by up to range/65534 and
// change counts at the boundary). A uniform grid over the visible cells answers both
//   - radius queries (proximity selection), and
//   - k nearest neighbours (KNN grow), by searching rings of grid squares outward until the
//     k-th best distance is closer than the next ring.
// Distances are Euclidean in float64; ties are broken by cell index.

export class NeighborGrid {
  /** `coords` Float32Array (n*dim), `dim` 1–3, `hidden` Uint8Array (1 = not a candidate). */
  constructor(coords, dim, hidden, n) {
    this.coords = coords;
    this.dim = dim;
    const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
    const ids = [];
    for (let i = 0; i < n; i++) {
      if (hidden[i]) continue;
      let ok = true;
      for (let a = 0; a < dim; a++) if (!Number.isFinite(coords[i * dim + a])) ok = false;
      if (!ok) continue;
      ids.push(i);
      for (let a = 0; a < dim; a++) {
        const v = coords[i * dim + a];
        if (v < lo[a]) lo[a] = v;
        if (v > hi[a]) hi[a] = v;
      }
    }
    this.count = ids.length;
    for (let a = dim; a < 3; a++) (lo[a] = 0), (hi[a] = 0);
    // about 2 cells per square
    let vol = 1;
    for (let a = 0; a < dim; a++) vol *= Math.max(hi[a] - lo[a], 1e-12);
    let side = Math.max(Math.pow(vol / Math.max(1, ids.length / 2), 1 / dim), 1e-12);
    const dims = (sd) => [0, 1, 2].map((a) => (a < dim ? Math.max(1, Math.min(1024, Math.ceil((hi[a] - lo[a]) / sd) || 1)) : 1));
    let G = dims(side);
    // flat data (one axis much shorter) would make the squares tiny and their number huge
    while (G[0] * G[1] * G[2] > 4 * ids.length + 64 || Math.max(...G) >= 1024) {
      if (Math.max(...G) === 1) break;
      side *= 1.5;
      G = dims(side);
    }
    Object.assign(this, { lo, hi, side, G });
    const key = new Int32Array(ids.length);
    const counts = new Int32Array(G[0] * G[1] * G[2] + 1);
    ids.forEach((i, k) => {
      key[k] = this.cellKey(this.gridCoord(i));
      counts[key[k] + 1]++;
    });
    for (let c = 0; c < counts.length - 1; c++) counts[c + 1] += counts[c];
    this.start = counts.slice();
    this.items = new Uint32Array(ids.length);
    ids.forEach((i, k) => (this.items[counts[key[k]]++] = i));
  }

  gridCoord(i) {
    const g = [0, 0, 0];
    for (let a = 0; a < this.dim; a++) g[a] = Math.min(this.G[a] - 1, Math.max(0, Math.floor((this.coords[i * this.dim + a] - this.lo[a]) / this.side)));
    return g;
  }

  cellKey([x, y, z]) {
    return (z * this.G[1] + y) * this.G[0] + x;
  }

  dist2(i, j) {
    let d = 0;
    for (let a = 0; a < this.dim; a++) {
      const t = this.coords[i * this.dim + a] - this.coords[j * this.dim + a];
      d += t * t;
    }
    return d;
  }

  /** Visit every candidate in grid squares at Chebyshev ring `r` around square `g`. */
  ring(g, r, fn) {
    const { G } = this;
    const lo = g.map((v) => Math.max(0, v - r)), hi = g.map((v, a) => Math.min(G[a] - 1, v + r));
    for (let z = lo[2]; z <= hi[2]; z++)
      for (let y = lo[1]; y <= hi[1]; y++)
        for (let x = lo[0]; x <= hi[0]; x++) {
          if (Math.max(Math.abs(x - g[0]), Math.abs(y - g[1]), Math.abs(z - g[2])) !== r) continue;
          const c = this.cellKey([x, y, z]);
          for (let k = this.start[c]; k < this.start[c + 1]; k++) fn(this.items[k]);
        }
  }

  /** Candidates within `radius` (embedding units, inclusive) of cell `i`, including `i` if it is a candidate. */
  withinRadius(i, radius) {
    const out = [];
    const r2 = radius * radius;
    const g = this.gridCoord(i);
    const rings = Math.ceil(radius / this.side) + 1;
    const maxRing = Math.max(...this.G);
    for (let r = 0; r <= Math.min(rings, maxRing); r++) this.ring(g, r, (j) => this.dist2(i, j) <= r2 && out.push(j));
    return Uint32Array.from(out).sort();
  }

  /** The `k` nearest candidates to cell `i`, excluding `i` itself. */
  nearest(i, k) {
    const best = []; // [d2, j] sorted ascending, at most k
    const g = this.gridCoord(i);
    const maxRing = Math.max(...this.G);
    const worse = (a, b) => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
    for (let r = 0; r <= maxRing; r++) {
      this.ring(g, r, (j) => {
        if (j === i) return;
        const e = [this.dist2(i, j), j];
        if (best.length === k && !worse(best[k - 1], e)) return;
        let p = best.length;
        best.push(e);
        while (p > 0 && worse(best[p - 1], e)) (best[p] = best[p - 1]), p--;
        best[p] = e;
        if (best.length > k) best.pop();
      });
      // every unvisited candidate is at least r * side away along some axis
      if (best.length === k && best[k - 1][0] <= (r * this.side) ** 2) break;
    }
    return best.map((e) => e[1]);
  }
}
