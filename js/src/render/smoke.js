// Smoke: a volumetric render mode for 3D embeddings. The visible cells' density (and their
// colours as drawn: field, gene, highlight groups) is splatted into a grid (volume.js) and
// ray-marched front to back with emission–absorption: each step adds its voxel's colour
// weighted by 1 − exp(−density × ABSORB × step), the rest shows the background.
//
// On WebGL2 the grid is a G³ RGBA8 3D texture (G = the smoke.grid option, 64 by default,
// coarser for small datasets: volume.js gridFor)
// marched in a fragment shader over a full-screen triangle (at half resolution on large
// canvases, scaled up with linear filtering); on the CPU renderer
// (smokeCpu.js) a coarser grid is marched per pixel of a reduced image that is scaled up.
// A renderer whose `volume` is this object draws it instead of the points while `active()`.
import { buildVolume, volumeBox, gridFor, ABSORB } from "./volume.js";
import { marchCpu } from "./smokeCpu.js";
import { mat4 } from "gl-matrix";

/** Ray-march steps through the box (GPU). */
export const GL_STEPS = 96;
/** Above this many canvas pixels the GPU marches at half resolution and scales up (linear). */
export const GL_HALF_ABOVE = 250000;
/** Voxels per side on the CPU (its grid is coarser: CPU time grows with G per ray). */
export const CPU_GRID = 48;

const VERT = `#version 300 es
out vec2 v_ndc;
void main() {
  // one triangle covering the screen
  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2)) * 2.0 - 1.0;
  v_ndc = p;
  gl_Position = vec4(p, 0.0, 1.0);
}`;

const FRAG = `#version 300 es
precision highp float;
precision highp sampler3D;
in vec2 v_ndc;
out vec4 outColor;
uniform sampler3D u_vol;
uniform mat4 u_inv;
uniform vec3 u_lo, u_hi, u_bg, u_mono;
uniform float u_density, u_threshold;
uniform bool u_useMono;
const int STEPS = ${GL_STEPS};
void main() {
  vec4 a = u_inv * vec4(v_ndc, -1.0, 1.0);
  vec4 b = u_inv * vec4(v_ndc, 1.0, 1.0);
  vec3 ro = a.xyz / a.w;
  vec3 rd = normalize(b.xyz / b.w - ro);
  vec3 inv = 1.0 / rd;
  vec3 t0 = (u_lo - ro) * inv, t1 = (u_hi - ro) * inv;
  vec3 tmin = min(t0, t1), tmax = max(t0, t1);
  float tn = max(max(tmin.x, tmin.y), max(tmin.z, 0.0));
  float tf = min(min(tmax.x, tmax.y), tmax.z);
  if (tf <= tn) { outColor = vec4(u_bg, 1.0); return; }
  float dt = (tf - tn) / float(STEPS);
  vec3 col = vec3(0.0);
  float T = 1.0;
  for (int i = 0; i < STEPS; i++) {
    vec3 p = ro + rd * (tn + (float(i) + 0.5) * dt);
    vec4 s = texture(u_vol, (p - u_lo) / (u_hi - u_lo));
    float d = max(0.0, s.a - u_threshold) / max(1e-3, 1.0 - u_threshold);
    float alpha = 1.0 - exp(-d * u_density * ${ABSORB.toFixed(1)} * dt);
    col += T * alpha * (u_useMono ? u_mono : s.rgb / max(s.a, 1e-3));
    T *= 1.0 - alpha;
    if (T < 0.01) break;
  }
  outColor = vec4(col + T * u_bg, 1.0);
}`;

/** The smoke options of a store state (views carry their own, state/viewOptions.js). */
export class Smoke {
  constructor() {
    this.on = false;
    this.opts = { density: 1, threshold: 0.05, grid: 64, color: "field" };
    this.input = null; // {geom, n, colors(), hidden, version}
    this.volumes = new Map(); // "gl" | "cpu" -> {key, vol}
    this.gl = null; // per-context program and texture
    this.lastMs = 0; // the last frame's drawing time (bench/)
    this.lastBuildMs = 0;
  }

  /** On in 3D only; the renderer draws the points otherwise. */
  active(renderer) {
    return this.on && !!this.input && !!renderer.geom && renderer.geom.dim === 3;
  }

  /** What to splat: geometry, a function giving the RGBA colours per cell, the hidden mask, a version. */
  setInput(input) {
    this.input = input;
  }

  setOptions(on, opts) {
    this.on = !!on;
    this.opts = { ...this.opts, ...opts };
  }

  volume(kind, G) {
    const inp = this.input;
    const key = `${inp.version}|${G}`;
    const cached = this.volumes.get(kind);
    if (cached && cached.key === key && cached.geom === inp.geom) return cached;
    const t0 = performance.now();
    const vol = buildVolume(inp.geom.positions, inp.n, inp.colors(), inp.hidden, G);
    this.lastBuildMs = performance.now() - t0;
    const entry = { key, geom: inp.geom, vol, uploaded: null };
    this.volumes.set(kind, entry);
    return entry;
  }

  /** Draw the smoke with `renderer` (WebGL `Renderer` or `CpuRenderer`) onto its canvas. */
  draw(renderer) {
    const t0 = performance.now();
    if (renderer.kind === "webgl") this.drawGL(renderer);
    else {
      const entry = this.volume("cpu", gridFor(CPU_GRID, this.input.n));
      marchCpu(renderer, entry.vol, volumeBox(renderer.geom, entry.vol.G), this.opts, this.mono());
    }
    this.lastMs = performance.now() - t0;
  }

  mono() {
    const c = this.opts.color;
    if (!c || c === "field") return null;
    const m = /^#?([0-9a-f]{6})$/i.exec(c);
    if (!m) return null;
    const v = parseInt(m[1], 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  }

  drawGL(r) {
    const gl = r.gl;
    if (!this.gl || this.gl.ctx !== gl) this.gl = setupGL(gl);
    const G = gridFor(Math.max(16, Math.min(160, this.opts.grid | 0 || 64)), this.input.n);
    const entry = this.volume("gl", G);
    const S = this.gl;
    gl.bindTexture(gl.TEXTURE_3D, S.tex);
    if (entry.uploaded !== S.tex) {
      gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
      gl.texImage3D(gl.TEXTURE_3D, 0, gl.RGBA8, G, G, G, 0, gl.RGBA, gl.UNSIGNED_BYTE, entry.vol.rgba);
      r.uploads += entry.vol.rgba.byteLength;
      entry.uploaded = S.tex;
    }
    const { lo, hi } = volumeBox(r.geom, G);
    const inv = mat4.invert(mat4.create(), r.camera.matrix);
    const mono = this.mono();
    // a cloud has no sharp edges: on large canvases march a quarter of the pixels
    const W = r.canvas.width, H = r.canvas.height;
    const half = W * H > GL_HALF_ABOVE;
    const w = half ? Math.ceil(W / 2) : W, h = half ? Math.ceil(H / 2) : H;
    if (half) {
      if (!S.fbo || S.fboW !== w || S.fboH !== h) resizeTarget(gl, S, w, h);
      gl.bindFramebuffer(gl.FRAMEBUFFER, S.fbo);
    }
    gl.viewport(0, 0, w, h);
    gl.disable(gl.DEPTH_TEST);
    gl.disable(gl.BLEND);
    gl.useProgram(S.prog);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_3D, S.tex);
    const L = S.loc;
    gl.uniform1i(L.u_vol, 0);
    gl.uniformMatrix4fv(L.u_inv, false, inv);
    gl.uniform3fv(L.u_lo, lo);
    gl.uniform3fv(L.u_hi, hi);
    gl.uniform3fv(L.u_bg, r.params.bg);
    gl.uniform3fv(L.u_mono, mono ? mono.map((v) => v / 255) : [0, 0, 0]);
    gl.uniform1i(L.u_useMono, mono ? 1 : 0);
    gl.uniform1f(L.u_density, Math.max(0, this.opts.density));
    gl.uniform1f(L.u_threshold, Math.min(0.99, Math.max(0, this.opts.threshold)));
    gl.bindVertexArray(S.vao);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    gl.bindVertexArray(null);
    if (half) {
      gl.bindFramebuffer(gl.READ_FRAMEBUFFER, S.fbo);
      gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, null);
      gl.blitFramebuffer(0, 0, w, h, 0, 0, W, H, gl.COLOR_BUFFER_BIT, gl.LINEAR);
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    }
  }
}

/** The half-resolution render target (texture + framebuffer) at w × h. */
function resizeTarget(gl, S, w, h) {
  if (!S.fbo) {
    S.fbo = gl.createFramebuffer();
    S.target = gl.createTexture();
  }
  gl.bindTexture(gl.TEXTURE_2D, S.target);
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, w, h, 0, gl.RGBA, gl.UNSIGNED_BYTE, null);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
  gl.bindFramebuffer(gl.FRAMEBUFFER, S.fbo);
  gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, S.target, 0);
  gl.bindFramebuffer(gl.FRAMEBUFFER, null);
  S.fboW = w;
  S.fboH = h;
}

function setupGL(gl) {
  const sh = (type, src) => {
    const s = gl.createShader(type);
    gl.shaderSource(s, src);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`smoke shader: ${gl.getShaderInfoLog(s)}`);
    return s;
  };
  const prog = gl.createProgram();
  gl.attachShader(prog, sh(gl.VERTEX_SHADER, VERT));
  gl.attachShader(prog, sh(gl.FRAGMENT_SHADER, FRAG));
  gl.linkProgram(prog);
  if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(`smoke program: ${gl.getProgramInfoLog(prog)}`);
  const loc = {};
  for (const u of ["u_vol", "u_inv", "u_lo", "u_hi", "u_bg", "u_mono", "u_useMono", "u_density", "u_threshold"]) loc[u] = gl.getUniformLocation(prog, u);
  const tex = gl.createTexture();
  gl.bindTexture(gl.TEXTURE_3D, tex);
  gl.texParameteri(gl.TEXTURE_3D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
  gl.texParameteri(gl.TEXTURE_3D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
  for (const w of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T, gl.TEXTURE_WRAP_R]) gl.texParameteri(gl.TEXTURE_3D, w, gl.CLAMP_TO_EDGE);
  return { ctx: gl, prog, loc, tex, vao: gl.createVertexArray() };
}
