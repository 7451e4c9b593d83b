// Cameras: 2D pan/zoom (orthographic) and 3D orbit / planar / free-fly (perspective).
// World coordinates are the embedding centered on its bounding box with the longest axis
// scaled to [-1, 1] (see render/geometry.js). All sizes here are in CSS pixels.
import { mat4, vec3 } from "gl-matrix";

/** The 2D view fits the data's longest side to this fraction of the shorter canvas side. */
export const FIT_2D = 0.9;
const FOV = Math.PI / 4;

export class Camera {
  constructor() {
    this.width = 1;
    this.height = 1;
    this.dim = 2;
    this.extent = [1, 1, 1]; // half-sizes of the world bounding box
    this.version = 0; // bumps on every change (projection caches key on it)
    this.matrix = mat4.create();
    this.reset();
  }

  setViewport(w, h) {
    this.width = Math.max(1, w);
    this.height = Math.max(1, h);
    this.changed();
  }

  /** Switch 2D/3D and fit the view to the data (`extent` = half-sizes in world units). */
  setScene(dim, extent) {
    this.dim = dim;
    this.extent = extent;
    this.reset();
  }

  /** Fit-to-data: the initial view of the current dimension. */
  reset() {
    this.center = [0, 0]; // 2D
    this.zoom = FIT_2D; // 2D: world units -> half of the shorter side
    const r = Math.hypot(this.extent[0], this.extent[1], this.dim === 3 ? this.extent[2] : 0) || 1;
    this.target = vec3.fromValues(0, 0, 0);
    // the bounding-box diagonal overestimates the cloud; 0.8 of it fills the view without clipping
    this.distance = (0.8 * r) / Math.sin(FOV / 2);
    this.yaw = 0.6;
    this.pitch = 0.35;
    this.eye = null; // free-fly: explicit eye position + yaw/pitch
    this.changed();
  }

  changed() {
    this.version++;
    this.update();
  }

  /** Pixels per world unit in 2D. */
  ppu() {
    return (this.zoom * Math.min(this.width, this.height)) / 2;
  }

  eyePosition() {
    if (this.eye) return this.eye;
    const cp = Math.cos(this.pitch);
    return vec3.fromValues(
      this.target[0] + this.distance * cp * Math.sin(this.yaw),
      this.target[1] + this.distance * Math.sin(this.pitch),
      this.target[2] + this.distance * cp * Math.cos(this.yaw),
    );
  }

  forward() {
    const cp = Math.cos(this.pitch);
    return vec3.fromValues(-cp * Math.sin(this.yaw), -Math.sin(this.pitch), -cp * Math.cos(this.yaw));
  }

  update() {
    const m = this.matrix;
    const { width: w, height: h } = this;
    if (this.dim !== 3) {
      const p = this.ppu();
      // clip = (world - center) * ppu / (half viewport)
      mat4.fromScaling(m, [(2 * p) / w, (2 * p) / h, 1]);
      mat4.translate(m, m, [-this.center[0], -this.center[1], 0]);
      return;
    }
    const eye = this.eyePosition();
    const look = this.eye ? vec3.add(vec3.create(), eye, this.forward()) : this.target;
    const view = mat4.lookAt(mat4.create(), eye, look, [0, 1, 0]);
    const r = Math.hypot(...this.extent) || 1;
    const dist = vec3.distance(eye, this.target);
    const proj = mat4.perspective(mat4.create(), FOV, w / h, Math.max(1e-3, (dist - 2 * r) * 0.5, dist * 1e-3), dist + 4 * r);
    mat4.multiply(m, proj, view);
  }

  // ---- gestures (dx, dy in CSS px) ----

  pan(dx, dy) {
    if (this.dim !== 3) {
      const p = this.ppu();
      this.center[0] -= dx / p;
      this.center[1] += dy / p;
    } else {
      // move target (and eye, in fly mode) in the screen plane
      const eye = this.eyePosition();
      const fwd = vec3.normalize(vec3.create(), vec3.sub(vec3.create(), this.eye ? vec3.add(vec3.create(), eye, this.forward()) : this.target, eye));
      const right = vec3.normalize(vec3.create(), vec3.cross(vec3.create(), fwd, [0, 1, 0]));
      const up = vec3.cross(vec3.create(), right, fwd);
      const dist = this.eye ? 1 : this.distance;
      const k = (2 * dist * Math.tan(FOV / 2)) / this.height;
      const move = vec3.create();
      vec3.scaleAndAdd(move, move, right, -dx * k);
      vec3.scaleAndAdd(move, move, up, dy * k);
      vec3.add(this.target, this.target, move);
      if (this.eye) vec3.add(this.eye, this.eye, move);
    }
    this.changed();
  }

  orbit(dx, dy) {
    this.yaw -= dx * 0.008;
    this.pitch = Math.max(-1.55, Math.min(1.55, this.pitch + dy * 0.008));
    this.changed();
  }

  /** Free-fly: look around from the current eye. */
  look(dx, dy) {
    if (!this.eye) this.eye = this.eyePosition();
    this.yaw -= dx * 0.004;
    this.pitch = Math.max(-1.55, Math.min(1.55, this.pitch - dy * 0.004));
    this.changed();
  }

  /** Free-fly: move along the view direction / sideways (world units). */
  fly(forward, sideways, upward = 0) {
    if (!this.eye) this.eye = this.eyePosition();
    const fwd = this.forward();
    const right = vec3.normalize(vec3.create(), vec3.cross(vec3.create(), fwd, [0, 1, 0]));
    vec3.scaleAndAdd(this.eye, this.eye, fwd, forward);
    vec3.scaleAndAdd(this.eye, this.eye, right, sideways);
    this.eye[1] += upward;
    this.changed();
  }

  /** Zoom by `factor` (>1 zooms in) keeping the point under (x, y) fixed in 2D. */
  zoomAt(factor, x, y) {
    if (this.dim !== 3) {
      const p = this.ppu();
      const wx = this.center[0] + (x - this.width / 2) / p;
      const wy = this.center[1] - (y - this.height / 2) / p;
      this.zoom = Math.max(1e-3, Math.min(1e5, this.zoom * factor));
      const p2 = this.ppu();
      this.center[0] = wx - (x - this.width / 2) / p2;
      this.center[1] = wy + (y - this.height / 2) / p2;
    } else if (this.eye) {
      this.fly((factor - 1) * 0.5 * (Math.hypot(...this.extent) || 1), 0);
      return;
    } else {
      this.distance = Math.max(1e-3, this.distance / factor);
    }
    this.changed();
  }

  /** Project world (x, y, z) to CSS px relative to the canvas; null if behind the camera. */
  project(x, y, z, out = [0, 0]) {
    const m = this.matrix;
    const cx = m[0] * x + m[4] * y + m[8] * z + m[12];
    const cy = m[1] * x + m[5] * y + m[9] * z + m[13];
    const cw = m[3] * x + m[7] * y + m[11] * z + m[15];
    if (cw <= 0) return null;
    out[0] = ((cx / cw + 1) / 2) * this.width;
    out[1] = ((1 - cy / cw) / 2) * this.height;
    return out;
  }

  /** Plain snapshot (for session state and tests). */
  snapshot() {
    return {
      dim: this.dim,
      center: [...this.center],
      zoom: this.zoom,
      target: [...this.target],
      distance: this.distance,
      yaw: this.yaw,
      pitch: this.pitch,
      eye: this.eye ? [...this.eye] : null,
    };
  }

  restore(s) {
    Object.assign(this, {
      center: [...s.center],
      zoom: s.zoom,
      target: vec3.fromValues(...s.target),
      distance: s.distance,
      yaw: s.yaw,
      pitch: s.pitch,
      eye: s.eye ? vec3.fromValues(...s.eye) : null,
    });
    this.changed();
  }
}
