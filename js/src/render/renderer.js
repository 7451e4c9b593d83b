// Hand-written WebGL2 point renderer. Draws on demand (requestRender), never in a busy loop.
// Pass 1 draws every cell; pass 2 redraws selected/highlighted cells on top via an index buffer.
import { VERT, FRAG } from "./shaders.js";

function compile(gl, type, src) {
  const s = gl.createShader(type);
  gl.shaderSource(s, src);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
  return s;
}

export class Renderer {
  constructor(canvas) {
    this.canvas = canvas;
    const gl = canvas.getContext("webgl2", { antialias: false, preserveDrawingBuffer: true, premultipliedAlpha: false });
    if (!gl) throw new Error("WebGL2 is not available in this browser.");
    this.gl = gl;
    const prog = gl.createProgram();
    gl.attachShader(prog, compile(gl, gl.VERTEX_SHADER, VERT));
    gl.attachShader(prog, compile(gl, gl.FRAGMENT_SHADER, FRAG));
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(prog));
    this.prog = prog;
    this.loc = {};
    for (const u of ["u_mvp", "u_scale", "u_offset", "u_size", "u_opacity", "u_dpr", "u_dimOthers", "u_emphasis", "u_bg"]) {
      this.loc[u] = gl.getUniformLocation(prog, u);
    }
    this.vao = gl.createVertexArray();
    this.buf = { pos: gl.createBuffer(), color: gl.createBuffer(), flags: gl.createBuffer(), emph: gl.createBuffer(), order: gl.createBuffer() };
    this.hasOrder = false;
    this.n = 0;
    this.nEmph = 0;
    this.geom = null;
    this.frames = 0;
    this.pending = false;
    this.onFrame = null;
    this.params = { size: 4, opacity: 1, dimOthers: false, bg: [1, 1, 1], dpr: 1 };
  }

  /** Upload positions (Uint16Array, `dim` components per cell). */
  setGeometry(geom, n) {
    const gl = this.gl;
    this.geom = geom;
    this.n = n;
    gl.bindVertexArray(this.vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buf.pos);
    gl.bufferData(gl.ARRAY_BUFFER, geom.positions, gl.STATIC_DRAW);
    const lp = gl.getAttribLocation(this.prog, "a_pos");
    gl.enableVertexAttribArray(lp);
    gl.vertexAttribPointer(lp, geom.gpuDim, gl.UNSIGNED_SHORT, true, 0, 0);
    gl.bindVertexArray(null);
    this.requestRender();
  }

  setColors(rgba) {
    const gl = this.gl;
    gl.bindVertexArray(this.vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buf.color);
    gl.bufferData(gl.ARRAY_BUFFER, rgba, gl.DYNAMIC_DRAW);
    const lc = gl.getAttribLocation(this.prog, "a_color");
    gl.enableVertexAttribArray(lc);
    gl.vertexAttribPointer(lc, 4, gl.UNSIGNED_BYTE, true, 0, 0);
    gl.bindVertexArray(null);
    this.requestRender();
  }

  /** `flags` Uint8Array per cell; `emphasis` Uint32Array of cells drawn again on top. */
  setFlags(flags, emphasis) {
    const gl = this.gl;
    gl.bindVertexArray(this.vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buf.flags);
    gl.bufferData(gl.ARRAY_BUFFER, flags, gl.DYNAMIC_DRAW);
    const lf = gl.getAttribLocation(this.prog, "a_flags");
    gl.enableVertexAttribArray(lf);
    gl.vertexAttribIPointer(lf, 1, gl.UNSIGNED_BYTE, 0, 0);
    gl.bindVertexArray(null);
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.buf.emph);
    gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, emphasis, gl.DYNAMIC_DRAW);
    this.nEmph = emphasis.length;
    this.requestRender();
  }

  /** Draw order for pass 1 (Uint32Array of all cells, e.g. by ascending expression), or null for index order. */
  setOrder(order) {
    const gl = this.gl;
    this.hasOrder = !!order;
    if (order) {
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.buf.order);
      gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, order, gl.DYNAMIC_DRAW);
    }
    this.requestRender();
  }

  setParams(p) {
    Object.assign(this.params, p);
    this.requestRender();
  }

  /** Schedule one frame (coalesced). */
  requestRender() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const gl = this.gl;
    const { camera } = this;
    const [br, bg, bb] = this.params.bg;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(br, bg, bb, 1);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    if (!this.geom || !this.n || !camera) return;
    gl.useProgram(this.prog);
    gl.enable(gl.BLEND);
    gl.blendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    const is3d = this.geom.dim === 3;
    if (is3d) {
      gl.enable(gl.DEPTH_TEST);
      gl.depthFunc(gl.LEQUAL);
    } else gl.disable(gl.DEPTH_TEST);
    const L = this.loc;
    const p = this.params;
    gl.uniformMatrix4fv(L.u_mvp, false, camera.matrix);
    gl.uniform3fv(L.u_scale, this.geom.scale);
    gl.uniform3fv(L.u_offset, this.geom.offset);
    gl.uniform1f(L.u_size, p.size);
    gl.uniform1f(L.u_opacity, p.opacity);
    gl.uniform1f(L.u_dpr, p.dpr);
    gl.uniform1i(L.u_dimOthers, p.dimOthers ? 1 : 0);
    gl.uniform3fv(L.u_bg, p.bg);
    gl.bindVertexArray(this.vao);
    gl.uniform1i(L.u_emphasis, 0);
    if (this.hasOrder) {
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.buf.order);
      gl.drawElements(gl.POINTS, this.n, gl.UNSIGNED_INT, 0);
    } else gl.drawArrays(gl.POINTS, 0, this.n);
    if (this.nEmph) {
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.buf.emph);
      gl.uniform1i(L.u_emphasis, 1);
      if (is3d) gl.depthFunc(gl.ALWAYS); // emphasized cells stay visible through the cloud
      gl.drawElements(gl.POINTS, this.nEmph, gl.UNSIGNED_INT, 0);
    }
    gl.bindVertexArray(null);
    this.frames++;
    if (this.onFrame) this.onFrame(this.frames);
  }
}
