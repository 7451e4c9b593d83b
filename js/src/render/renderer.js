// Hand-written WebGL2 point renderer. Draws on demand (requestRender), never in a busy loop.
// Pass 1 draws every cell; pass 2 redraws selected/highlighted cells on top via an index buffer.
//
// Cost model (software GL such as SwiftShader, where one 1M-point draw takes ~0.5–1 s): draw
// once per change, upload as little as possible, and never read GL state back on the main
// thread (a query waits for the GPU to finish). Per cell the GPU gets a u16 position, a u16
// palette index and — only when something is hidden/selected/highlighted — a u8 flag; until
// those exist, constant attribute values stand in (neutral color, nothing flagged).
import { VERT, FRAG, PALETTE_WIDTH } from "./shaders.js";
import { RendererBase } from "./base.js";

// attribute locations, fixed here instead of asking the linked program (a round trip)
const LOC = { pos: 0, ci: 1, flags: 2 };
const UNIFORMS = ["u_mvp", "u_scale", "u_offset", "u_size", "u_opacity", "u_dpr", "u_dimOthers", "u_emphasis", "u_bg", "u_palette"];

function shader(gl, type, src) {
  const s = gl.createShader(type);
  gl.shaderSource(s, src);
  gl.compileShader(s);
  return s;
}

const withLocations = (src) =>
  src.replace("in vec3 a_pos;", `layout(location = ${LOC.pos}) in vec3 a_pos;`)
    .replace("in uint a_ci;", `layout(location = ${LOC.ci}) in uint a_ci;`)
    .replace("in uint a_flags;", `layout(location = ${LOC.flags}) in uint a_flags;`);

/**
 * The WebGL2 context and the (still linking) point program for `canvas`, or null without
 * WebGL2. Creating a context and compiling take 100–300 ms on software GL, so the inline boot
 * script (boot.js) calls this at once and the Renderer adopts the result.
 */
export function prepareGL(canvas) {
  const gl = canvas.getContext("webgl2", { antialias: false, preserveDrawingBuffer: true, premultipliedAlpha: false });
  if (!gl) return null;
  // Compile and link now but check the result at the first draw: the GPU process compiles
  // while the page waits for data (KHR_parallel_shader_compile semantics).
  const parallel = gl.getExtension("KHR_parallel_shader_compile");
  const prog = gl.createProgram();
  const shaders = [shader(gl, gl.VERTEX_SHADER, withLocations(VERT)), shader(gl, gl.FRAGMENT_SHADER, FRAG)];
  for (const s of shaders) gl.attachShader(prog, s);
  gl.linkProgram(prog);
  return { canvas, gl, prog, shaders, parallel };
}

export class Renderer extends RendererBase {
  /** `prepared`: prepareGL's result for this canvas, if the boot script made it. */
  constructor(canvas, prepared = null) {
    super(canvas, "webgl");
    const ready = prepared && prepared.canvas === canvas ? prepared : prepareGL(canvas);
    if (!ready) throw new Error("WebGL2 is not available in this browser.");
    const gl = (this.gl = ready.gl);
    this.prog = ready.prog;
    this.shaders = ready.shaders;
    this.parallel = ready.parallel;
    this.loc = null; // uniform locations, read once the program is linked
    this.vao = gl.createVertexArray();
    this.buf = { pos: gl.createBuffer(), ci: gl.createBuffer(), flags: gl.createBuffer(), emph: gl.createBuffer(), order: gl.createBuffer() };
    this.palette = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, this.palette);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    this.setPalette(new Uint8Array([128, 128, 128, 255]));
    gl.bindVertexArray(this.vao);
    // until data arrives: palette entry 0 (neutral), nothing flagged
    gl.disableVertexAttribArray(LOC.ci);
    gl.vertexAttribI4ui(LOC.ci, 0, 0, 0, 0);
    gl.disableVertexAttribArray(LOC.flags);
    gl.vertexAttribI4ui(LOC.flags, 0, 0, 0, 0);
    gl.bindVertexArray(null);
    this.hasOrder = false;
    this.nEmph = 0;
  }

  /** Upload positions (Uint16Array, `gpuDim` components per cell). */
  setGeometry(geom, n) {
    const gl = this.gl;
    this.geom = geom;
    this.n = n;
    gl.bindVertexArray(this.vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buf.pos);
    gl.bufferData(gl.ARRAY_BUFFER, geom.positions, gl.STATIC_DRAW);
    this.uploads += geom.positions.byteLength;
    gl.enableVertexAttribArray(LOC.pos);
    gl.vertexAttribPointer(LOC.pos, geom.gpuDim, gl.UNSIGNED_SHORT, true, 0, 0);
    gl.bindVertexArray(null);
    this.requestRender();
  }

  /**
   * Per-cell palette indices (Uint16Array or Uint32Array, one per cell), or null: every cell
   * takes palette entry 0.
   */
  setColorIndex(index) {
    const gl = this.gl;
    gl.bindVertexArray(this.vao);
    if (index) {
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buf.ci);
      gl.bufferData(gl.ARRAY_BUFFER, index, gl.DYNAMIC_DRAW);
      this.uploads += index.byteLength;
      gl.enableVertexAttribArray(LOC.ci);
      gl.vertexAttribIPointer(LOC.ci, 1, index instanceof Uint32Array ? gl.UNSIGNED_INT : gl.UNSIGNED_SHORT, 0, 0);
    } else {
      gl.disableVertexAttribArray(LOC.ci);
      gl.vertexAttribI4ui(LOC.ci, 0, 0, 0, 0);
    }
    gl.bindVertexArray(null);
    this.requestRender();
  }

  /** Palette: RGBA bytes, 4 per entry (entry k is the color of palette index k). */
  setPalette(rgba) {
    const gl = this.gl;
    const count = Math.max(1, rgba.length >> 2);
    const w = Math.min(PALETTE_WIDTH, count);
    const h = Math.ceil(count / PALETTE_WIDTH);
    let data = rgba;
    if (w * h * 4 !== rgba.length) {
      data = new Uint8Array(w * h * 4);
      data.set(rgba.subarray(0, Math.min(rgba.length, data.length)));
    }
    gl.bindTexture(gl.TEXTURE_2D, this.palette);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, w, h, 0, gl.RGBA, gl.UNSIGNED_BYTE, data);
    this.uploads += data.byteLength;
    this.requestRender();
  }

  /**
   * `flags` Uint8Array per cell (1 hidden, 2 selected, 4 highlighted) or null when no cell is
   * flagged; `emphasis` Uint32Array of cells drawn again on top (may be empty).
   */
  setFlags(flags, emphasis) {
    const gl = this.gl;
    gl.bindVertexArray(this.vao);
    if (flags) {
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buf.flags);
      gl.bufferData(gl.ARRAY_BUFFER, flags, gl.DYNAMIC_DRAW);
      this.uploads += flags.byteLength;
      gl.enableVertexAttribArray(LOC.flags);
      gl.vertexAttribIPointer(LOC.flags, 1, gl.UNSIGNED_BYTE, 0, 0);
    } else {
      gl.disableVertexAttribArray(LOC.flags);
      gl.vertexAttribI4ui(LOC.flags, 0, 0, 0, 0);
    }
    gl.bindVertexArray(null);
    if (emphasis && emphasis.length) {
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.buf.emph);
      gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, emphasis, gl.DYNAMIC_DRAW);
      this.uploads += emphasis.byteLength;
    }
    this.nEmph = emphasis ? emphasis.length : 0;
    this.requestRender();
  }

  /** Draw order for pass 1 (Uint32Array of all cells, e.g. by ascending expression), or null for index order. */
  setOrder(order) {
    const gl = this.gl;
    this.hasOrder = !!order;
    if (order) {
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.buf.order);
      gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, order, gl.DYNAMIC_DRAW);
      this.uploads += order.byteLength;
    }
    this.requestRender();
  }

  /**
   * Draw one point offscreen-sized (then clear) with the state the first real frame will use
   * (`gpuDim` position components, palette indices per cell or constant), so software GL
   * compiles its draw routines while the page still waits for data, not in the first frame.
   */
  warmUp(gpuDim = 2, withIndex = true) {
    const gl = this.gl;
    const L = this.locations();
    const vao = gl.createVertexArray();
    const bufs = [gl.createBuffer(), gl.createBuffer()];
    gl.bindVertexArray(vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, bufs[0]);
    gl.bufferData(gl.ARRAY_BUFFER, new Uint16Array(4).fill(30000), gl.STATIC_DRAW);
    gl.enableVertexAttribArray(LOC.pos);
    gl.vertexAttribPointer(LOC.pos, gpuDim, gl.UNSIGNED_SHORT, true, 0, 0);
    if (withIndex) {
      gl.bindBuffer(gl.ARRAY_BUFFER, bufs[1]);
      gl.bufferData(gl.ARRAY_BUFFER, new Uint16Array(2), gl.STATIC_DRAW);
      gl.enableVertexAttribArray(LOC.ci);
      gl.vertexAttribIPointer(LOC.ci, 1, gl.UNSIGNED_SHORT, 0, 0);
    }
    gl.useProgram(this.prog);
    gl.enable(gl.BLEND);
    gl.blendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    if (gpuDim === 3) {
      gl.enable(gl.DEPTH_TEST);
      gl.depthFunc(gl.LEQUAL);
    } else gl.disable(gl.DEPTH_TEST);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.palette);
    gl.uniform1i(L.u_palette, 0);
    gl.uniformMatrix4fv(L.u_mvp, false, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    gl.uniform3fv(L.u_scale, [1, 1, 1]);
    gl.uniform3fv(L.u_offset, [-0.5, -0.5, -0.5]);
    gl.uniform1f(L.u_size, this.params.size);
    gl.uniform1f(L.u_opacity, 1);
    gl.uniform1f(L.u_dpr, 1);
    gl.uniform1i(L.u_emphasis, 0);
    gl.drawArrays(gl.POINTS, 0, 1);
    gl.bindVertexArray(null);
    gl.deleteVertexArray(vao);
    for (const b of bufs) gl.deleteBuffer(b);
    gl.clearColor(...this.params.bg, 1);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
  }

  /** Whether the point program has finished linking (never waits; true without the extension). */
  linked() {
    if (this.loc || !this.parallel) return true;
    return !!this.gl.getProgramParameter(this.prog, this.parallel.COMPLETION_STATUS_KHR);
  }

  /** Uniform locations; the first call waits for the link (by the first draw it is long done). */
  locations() {
    if (this.loc) return this.loc;
    const gl = this.gl;
    if (!gl.getProgramParameter(this.prog, gl.LINK_STATUS)) {
      const logs = this.shaders.map((s) => gl.getShaderInfoLog(s)).filter(Boolean);
      throw new Error(`point shader: ${gl.getProgramInfoLog(this.prog)} ${logs.join(" ")}`);
    }
    this.loc = {};
    for (const u of UNIFORMS) this.loc[u] = gl.getUniformLocation(this.prog, u);
    return this.loc;
  }

  draw() {
    const gl = this.gl;
    const { camera } = this;
    const [br, bg, bb] = this.params.bg;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(br, bg, bb, 1);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    if (!this.geom || !this.n || !camera) return;
    if (this.drawVolume()) return;
    const L = this.locations();
    gl.useProgram(this.prog);
    gl.enable(gl.BLEND);
    gl.blendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    const is3d = this.geom.dim === 3;
    if (is3d) {
      gl.enable(gl.DEPTH_TEST);
      gl.depthFunc(gl.LEQUAL);
    } else gl.disable(gl.DEPTH_TEST);
    const p = this.params;
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.palette);
    gl.uniform1i(L.u_palette, 0);
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
    this.frameDrawn(this.n);
  }
}
