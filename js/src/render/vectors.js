// Vector field overlay: particles advected through a grid of mean cell vectors (velocity),
// drawn as fading trails on a 2D canvas above the WebGL canvas. Animates only while enabled;
// with `prefers-reduced-motion: reduce` it draws still streamlines instead (redrawn when the
// view moves) and never starts an animation loop.

const GRID_2D = 72;
const GRID_3D = 28;
const MAX_AGE = 90; // frames before a particle respawns

export class VectorOverlay {
  constructor(canvas) {
    this.canvas = canvas;
    this._ctx = null; // created on first use: a 2D context is not free, and most views never show vectors
    this.running = false;
    this.raf = null;
    this.color = "rgba(20,20,30,0.75)";
    this.params = { count: 3000, speed: 1, trail: 0.5 };
    this.reducedMotion = false;
    this.workTimes = [];
    this.frameTimes = []; // rAF timestamps of the last animated frames (for measurement scripts)
  }

  get ctx() {
    if (!this._ctx) this._ctx = this.canvas.getContext("2d");
    return this._ctx;
  }

  /** Particle count, speed multiplier and trail length (0 = short, 1 = long). */
  setParams({ count, speed, trail }) {
    const countChanged = count != null && count !== this.params.count;
    Object.assign(this.params, { count: count ?? this.params.count, speed: speed ?? this.params.speed, trail: trail ?? this.params.trail });
    if (countChanged && this.visibleCells) this.spawnAll();
    if (this.running && this.reducedMotion) this.drawStatic();
  }

  /**
   * Prepare a field: `vectors` Float32Array (n*dim) in raw units, `geom` from buildGeometry,
   * `hidden` mask. Builds the grid of mean world-space vectors over visible cells.
   */
  setField(vectors, geom, hidden, n) {
    const dim = geom.dim === 3 ? 3 : 2;
    const G = dim === 3 ? GRID_3D : GRID_2D;
    const cells = dim === 3 ? G * G * G : G * G;
    const sum = new Float32Array(cells * 3);
    const count = new Uint32Array(cells);
    const W = geom.world;
    const ext = geom.extent;
    const lo = [-ext[0], -ext[1], -(ext[2] || 0)];
    const size = [2 * ext[0] || 1, 2 * ext[1] || 1, 2 * (ext[2] || 0) || 1];
    const cellOf = (x, y, z) => {
      const gx = Math.min(G - 1, Math.max(0, Math.floor(((x - lo[0]) / size[0]) * G)));
      const gy = Math.min(G - 1, Math.max(0, Math.floor(((y - lo[1]) / size[1]) * G)));
      if (dim === 2) return gy * G + gx;
      const gz = Math.min(G - 1, Math.max(0, Math.floor(((z - lo[2]) / size[2]) * G)));
      return (gz * G + gy) * G + gx;
    };
    const vd = vectors.length / n;
    const speeds = [];
    for (let i = 0; i < n; i++) {
      if (hidden[i]) continue;
      const c = cellOf(W[3 * i], W[3 * i + 1], W[3 * i + 2]);
      let m = 0;
      for (let a = 0; a < dim; a++) {
        const v = vectors[i * vd + a] * geom.unit;
        if (!Number.isFinite(v)) {
          m = -1;
          break;
        }
        sum[c * 3 + a] += v;
        m += v * v;
      }
      if (m < 0) continue;
      count[c]++;
      if (i % 7 === 0) speeds.push(Math.sqrt(m));
    }
    for (let c = 0; c < cells; c++) if (count[c]) for (let a = 0; a < 3; a++) sum[c * 3 + a] /= count[c];
    speeds.sort((a, b) => a - b);
    const median = speeds[speeds.length >> 1] || 1;
    // the median cell moves ~0.3 % of the data width per frame, whatever the vectors' units
    this.step = 0.006 / median;
    Object.assign(this, { dim, G, grid: sum, count, cellOf, geom, hidden, n });
    // spawn at visible cells so particles start where the data is
    this.visibleCells = [];
    for (let i = 0; i < n; i++) if (!hidden[i]) this.visibleCells.push(i);
    this.spawnAll();
  }

  spawnAll() {
    const N = Math.max(1, Math.round(this.params.count));
    this.p = new Float32Array(N * 3);
    this.age = new Uint16Array(N);
    for (let k = 0; k < N; k++) this.respawn(k, Math.floor(Math.random() * MAX_AGE));
  }

  respawn(k, age = 0) {
    const cells = this.visibleCells;
    if (!cells.length) return;
    const i = cells[Math.floor(Math.random() * cells.length)];
    const W = this.geom.world;
    const j = 0.01;
    this.p[3 * k] = W[3 * i] + (Math.random() - 0.5) * j;
    this.p[3 * k + 1] = W[3 * i + 1] + (Math.random() - 0.5) * j;
    this.p[3 * k + 2] = W[3 * i + 2] + (this.dim === 3 ? (Math.random() - 0.5) * j : 0);
    this.age[k] = age;
  }

  start(camera, color) {
    this.camera = camera;
    this.color = color;
    if (this.reducedMotion) {
      // no loop: one still picture, redrawn by the app when the view changes
      if (this.raf) cancelAnimationFrame(this.raf);
      this.raf = null;
      this.running = true;
      this.canvas.hidden = false;
      this.drawStatic();
      return;
    }
    if (this.running && this.raf) return;
    this.running = true;
    this.canvas.hidden = false;
    this.frameTimes = [];
    this.workTimes = []; // ms of JS work per animated frame
    const tick = (t) => {
      if (!this.running) return;
      this.frameTimes.push(t);
      if (this.frameTimes.length > 240) this.frameTimes.shift();
      const t0 = performance.now();
      this.frame();
      this.workTimes.push(performance.now() - t0);
      if (this.workTimes.length > 240) this.workTimes.shift();
      this.raf = requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
  }

  stop() {
    if (!this.running && this.canvas.hidden) return; // nothing shown: nothing to clear
    this.running = false;
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = null;
    this.clear();
    this.canvas.hidden = true;
  }

  clear() {
    this.ctx.setTransform(1, 0, 0, 1, 0, 0);
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
  }

  /** Reduced motion: still streamlines (each particle's path for a trail's worth of steps). */
  drawStatic() {
    if (!this.p || !this.camera) return;
    const cam = this.camera;
    const ctx = this.ctx;
    const dpr = this.canvas.width / Math.max(1, cam.width);
    this.clear();
    this.lastCamera = cam.version;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.strokeStyle = this.color;
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    const steps = Math.round(6 + 30 * this.params.trail);
    const stepLen = this.step * this.params.speed;
    const a = [0, 0], b = [0, 0];
    const { p, grid, count } = this;
    for (let k = 0; k < this.age.length; k++) {
      let x = p[3 * k], y = p[3 * k + 1], z = p[3 * k + 2];
      for (let t = 0; t < steps; t++) {
        const c = this.cellOf(x, y, z);
        if (!count[c]) break;
        const nx = x + grid[3 * c] * stepLen, ny = y + grid[3 * c + 1] * stepLen, nz = z + grid[3 * c + 2] * stepLen;
        if (cam.project(x, y, z, a) && cam.project(nx, ny, nz, b)) {
          ctx.moveTo(a[0], a[1]);
          ctx.lineTo(b[0], b[1]);
        }
        x = nx; y = ny; z = nz;
      }
    }
    ctx.stroke();
  }

  frame() {
    if (!this.p || !this.camera) return;
    const cam = this.camera;
    const ctx = this.ctx;
    const dpr = this.canvas.width / Math.max(1, cam.width);
    if (this.lastCamera !== cam.version) {
      this.clear(); // the view moved: old trails are in the wrong place
      this.lastCamera = cam.version;
    }
    // fade the previous trails
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalCompositeOperation = "destination-out";
    // trail 0 -> fade fast (short trails), 1 -> fade slowly (long trails)
    ctx.fillStyle = `rgba(0,0,0,${(0.25 - 0.23 * this.params.trail).toFixed(3)})`;
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.globalCompositeOperation = "source-over";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.strokeStyle = this.color;
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    const a = [0, 0], b = [0, 0];
    const { p, age, grid, count } = this;
    const step = this.step * this.params.speed;
    for (let k = 0; k < age.length; k++) {
      const x = p[3 * k], y = p[3 * k + 1], z = p[3 * k + 2];
      const c = this.cellOf(x, y, z);
      if (!count[c] || age[k] >= MAX_AGE) {
        this.respawn(k);
        continue;
      }
      const nx = x + grid[3 * c] * step, ny = y + grid[3 * c + 1] * step, nz = z + grid[3 * c + 2] * step;
      p[3 * k] = nx;
      p[3 * k + 1] = ny;
      p[3 * k + 2] = nz;
      age[k]++;
      if (!cam.project(x, y, z, a) || !cam.project(nx, ny, nz, b)) continue;
      ctx.moveTo(a[0], a[1]);
      ctx.lineTo(b[0], b[1]);
    }
    ctx.stroke();
  }
}
