// GLSL for the point renderer. Positions arrive as normalized uint16 (0..1, 65534 -> ~1;
// 65535 = missing coordinate, exactly 1.0). Colors arrive as one small integer per cell — an
// index into the palette texture (color/colorize.js) — so a recolor uploads 2 bytes per cell
// and a colormap or theme change uploads only the palette.
export const VERT = `#version 300 es
precision highp float;
precision highp int;
in vec3 a_pos;
in uint a_ci;    // palette index (constant 0 = the neutral color until colors arrive)
in uint a_flags; // 1 hidden, 2 selected, 4 highlighted (constant 0 when nothing is flagged)
uniform mat4 u_mvp;
uniform vec3 u_scale;
uniform vec3 u_offset;
uniform float u_size;
uniform float u_opacity;
uniform float u_dpr;
uniform bool u_dimOthers;
uniform bool u_emphasis; // second pass: only selected/highlighted cells, drawn on top
uniform vec3 u_bg;
uniform sampler2D u_palette; // RGBA8, PALETTE_WIDTH texels per row
out vec4 v_color;
const uint PALETTE_WIDTH = 1024u;
void main() {
  // a missing coordinate (65535) normalizes to 1.0, valid ones to at most 65534/65535
  // (0.9999847); the threshold between them tolerates a GPU's rounding of the conversion
  bool hidden = (a_flags & 1u) != 0u || any(greaterThan(a_pos, vec3(0.999992)));
  bool emph = (a_flags & 6u) != 0u;
  vec3 w = a_pos * (65535.0 / 65534.0) * u_scale + u_offset;
  gl_Position = u_mvp * vec4(w, 1.0);
  vec4 c = texelFetch(u_palette, ivec2(int(a_ci % PALETTE_WIDTH), int(a_ci / PALETTE_WIDTH)), 0);
  c.a *= u_opacity;
  if (u_dimOthers && !emph) {
    // a selection exists: the others fade toward the background
    c.rgb = mix(c.rgb, u_bg, 0.8);
    c.a *= 0.6;
  }
  float size = u_size;
  if (u_emphasis && (a_flags & 4u) != 0u) size *= 1.5;
  if (hidden) {
    gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
    size = 0.0;
  }
  gl_PointSize = size * u_dpr;
  v_color = c;
}`;

export const FRAG = `#version 300 es
precision highp float;
in vec4 v_color;
out vec4 outColor;
uniform float u_dpr;
uniform float u_size;
void main() {
  vec2 p = gl_PointCoord * 2.0 - 1.0;
  float r2 = dot(p, p);
  if (r2 > 1.0) discard;
  // soft edge over ~1 device pixel; the center keeps the exact color
  float px = 2.0 / max(1.0, u_size * u_dpr);
  float a = 1.0 - smoothstep(1.0 - px, 1.0, sqrt(r2));
  outColor = vec4(v_color.rgb, v_color.a * a);
}`;

/** Palette texture width (texels per row); must match PALETTE_WIDTH in VERT. */
export const PALETTE_WIDTH = 1024;
