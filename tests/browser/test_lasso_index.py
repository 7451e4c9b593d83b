"""The lasso's point-in-polygon search (js/src/interaction/spatial.js, issue #6): it tests one
by one only the points in grid cells the outline crosses and takes or leaves the others a
whole grid cell at a time. Here the shipped bundle's ScreenIndex, in the page, must return
exactly what the even-odd rule gives for every point, on 100k points (many on the grid lines
and on the polygons' edges) and polygons of every kind; test_viewer.py checks the lasso end
to end against matplotlib."""

from __future__ import annotations

import pytest

from browser_page import open_viewer

pytestmark = pytest.mark.browser

COMPARE = """() => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296);
  const N = 100000, W = 1280, H = 800;
  const world = new Float32Array(N * 3);
  for (let i = 0; i < N; i++) {
    world[3 * i] = rnd() * 2.2 - 1.1;
    world[3 * i + 1] = rnd() * 2.2 - 1.1;
    if (i % 5 === 0) {  // on a lattice: points on grid lines and on the rectangles' edges
      world[3 * i] = Math.round(world[3 * i] * 40) / 40;
      world[3 * i + 1] = Math.round(world[3 * i + 1] * 25) / 25;
    }
  }
  const M = new Float32Array(16); M[0] = 1; M[5] = 1; M[10] = 1; M[15] = 1;
  const hidden = new Uint8Array(N);
  for (let i = 0; i < N; i += 11) hidden[i] = 1;
  const index = new (window.cellucid.app.index.constructor)();
  index.update({ version: 1, width: W, height: H, matrix: M }, { world }, hidden, N);

  const evenOdd = (poly, x, y) => {
    let odd = false;
    for (let a = 0, b = poly.length - 1; a < poly.length; b = a++) {
      const [xa, ya] = poly[a], [xb, yb] = poly[b];
      if (ya > y !== yb > y && x < ((xb - xa) * (y - ya)) / (yb - ya) + xa) odd = !odd;
    }
    return odd;
  };
  const polys = [];
  for (let t = 0; t < 25; t++) {  // stars, some self-intersecting, some reaching off screen
    const cx = rnd() * W, cy = rnd() * H, k = 3 + Math.floor(rnd() * 50), R = 20 + rnd() * 700, p = [];
    for (let j = 0; j < k; j++) {
      const ang = t % 3 === 0 ? rnd() * 6.3 : (j / k) * 6.283, r = R * (0.2 + rnd());
      p.push([cx + r * Math.cos(ang), cy + r * Math.sin(ang)]);
    }
    polys.push(p);
  }
  for (let t = 0; t < 10; t++) {  // drawn by hand: 2 px steps
    let x = rnd() * W, y = rnd() * H, ang = 0;
    const p = [];
    for (let j = 0; j < 500; j++) { ang += (rnd() - 0.45) * 0.3; x += 2 * Math.cos(ang); y += 2 * Math.sin(ang); p.push([x, y]); }
    polys.push(p);
  }
  // rectangles on grid lines (16 px) and on the lattice, a repeated vertex, the whole screen
  polys.push([[16, 16], [640, 16], [640, 784], [16, 784]]);
  polys.push([[32, 48], [32, 48], [496, 48], [496, 304], [32, 304]]);
  polys.push([[480, 240], [800, 240], [800, 560], [480, 560]]);
  polys.push([[0, 0], [W, 0], [W, H], [0, H]]);

  const results = [];
  for (const p of polys) {
    const got = index.inPolygon(p);
    const want = [];
    for (let i = 0; i < N; i++) {
      if (!index.onScreen[i]) continue;
      const x = index.xy[2 * i], y = index.xy[2 * i + 1];
      if (evenOdd(p, x, y)) want.push(i);
    }
    const same = got.length === want.length && want.every((v, k) => got[k] === v);
    results.push([same, got.length, want.length]);
  }
  return results;
}"""


def test_the_lasso_search_finds_exactly_the_points_inside(browser, server):
    v = open_viewer(browser, server.url)
    try:
        results = v.js(COMPARE)
        assert len(results) == 39
        assert all(same for same, _got, _want in results), [r for r in results if not r[0]]
        # the polygons hold points, many of them: the whole-grid-cell path is taken
        assert sum(want for _s, _g, want in results) > 200_000
        assert max(want for _s, _g, want in results) > 50_000
    finally:
        v.page.close()
