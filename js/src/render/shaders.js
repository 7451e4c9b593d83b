// GLSL for the point renderer. Positions arrive as normalized uint16 (0..1, 65534 -> ~1).
export const VERT = `#version 300 es
precision highp float;
in vec3 a_pos;
in vec4 a_color;
in uint a_flags; // 1 hidden, 2 selected, 4 highlighted
uniform mat4 u_mvp;
uniform vec3 u_scale;
uniform vec3 u_offset;
uniform float u_size;
uniform float u_opacity;
uniform float u_dpr;
uniform bool u_dimOthers;
uniform bool u_emphasis; // second pass: only selected/highlighted cells, drawn on top
uniform vec3 u_bg;
out vec4 v_color;
void main() {
  bool hidden = (a_flags & 1u) != 0u;
  bool emph = (a_flags & 6u) != 0u;
  vec3 w = a_pos * (65535.0 / 65534.0) * u_scale + u_offset;
  gl_Position = u_mvp * vec4(w, 1.0);
  vec4 c = a_color;
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
