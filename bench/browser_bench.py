"""Browser measurements in headless Chromium (Playwright, Debian's /usr/bin/chromium).

Both viewers are timed the same way: an init script wraps WebGL's draw calls (and
``performance.mark`` for the "cellucid:draw" mark of cellucid's CPU renderer, which draws
where WebGL is software, as here) and notes, in the animation frame after each draw of at
least a quarter of the cells, the time since navigation start (``performance.now()``). "First frame" is the first such frame;
cellucid's "colored frame" is the latest one noted when it sets ``body[data-ready="1"]`` (it
does once its first colored frame is drawn and its panels are built), or the first one after.
Bytes before first frame: ``transferSize`` of the document and every resource whose
response ended before the first frame (Resource Timing; headers included).
Each tool gets a freshly launched browser, warmed up with one throwaway page (:func:`warm_up`),
and every timed load is a new browser context (no cache, no storage) on a freshly started server.
"""

from __future__ import annotations

import json
import statistics
import time

LAUNCH_ARGS = ["--no-sandbox", "--use-gl=angle", "--use-angle=swiftshader", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
               "--enable-precise-memory-info"]
VIEWPORT = {"width": 1280, "height": 800}

INIT_JS = """
(() => {
  const T = (window.__bench = { first: null, ready: null, presented: [], notes: 0, readyNote: null, threshold: %d,
                                 allNote: null });
  try { performance.setResourceTimingBufferSize(100000); } catch (e) {}
  // each noted draw k is presented in the animation frame after it (time T.presented[k])
  function note() {
    const k = T.notes++;
    requestAnimationFrame(() => {
      const t = performance.now();
      if (T.first === null) T.first = t;
      T.presented[k] = t;
      if (T.ready === null && (k === T.readyNote || (T.readyNote === null && document.body && document.body.dataset.ready === "1"))) T.ready = t;
    });
  }
  function hook(proto) {
    if (!proto) return;
    const da = proto.drawArrays, de = proto.drawElements;
    proto.drawArrays = function (m, f, count) { if (count >= T.threshold) note(); return da.apply(this, arguments); };
    proto.drawElements = function (m, count) { if (count >= T.threshold) note(); return de.apply(this, arguments); };
    if (proto.drawArraysInstanced) {
      const dai = proto.drawArraysInstanced;
      proto.drawArraysInstanced = function (m, f, c, n) { if (c >= T.threshold || n >= T.threshold) note(); return dai.apply(this, arguments); };
    }
    if (proto.drawElementsInstanced) {
      const dei = proto.drawElementsInstanced;
      proto.drawElementsInstanced = function (m, c, t, o, n) { if (c >= T.threshold || n >= T.threshold) note(); return dei.apply(this, arguments); };
    }
  }
  // cellucid's CPU renderer (used where WebGL runs in software) draws into a 2D canvas and
  // marks each frame "cellucid:draw" with the number of points it drew
  const pm = performance.mark.bind(performance);
  performance.mark = function (name, opts) {
    // progressive loading: the last cells are in; the next noted draw shows every cell
    if (name === "cellucid:all-cells" && T.allNote === null) T.allNote = T.notes;
    if (name === "cellucid:draw" && opts && opts.detail && opts.detail.renderer === "cpu" && opts.detail.points >= T.threshold && !opts.detail.sampled) note();
    return pm(name, opts);
  };
  // cellucid sets body[data-ready="1"] once its first colored frame is drawn and its panels
  // are built: its colored frame is the latest draw noted by then (its frame may still be to
  // come when the colors were the last to arrive)
  new MutationObserver(() => {
    if (T.ready !== null || T.readyNote !== null || !document.body || document.body.dataset.ready !== "1" || !T.notes) return;
    T.readyNote = T.notes - 1;
    if (T.presented[T.readyNote] !== undefined) T.ready = T.presented[T.readyNote];
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-ready"] });
  hook(window.WebGLRenderingContext && WebGLRenderingContext.prototype);
  hook(window.WebGL2RenderingContext && WebGL2RenderingContext.prototype);
  document.addEventListener("click", (e) => {
    const el = e.target.closest && e.target.closest("[data-testid]");
    if (el) (T.clicks = T.clicks || []).push([el.dataset.testid, performance.now()]);
  }, true);
})();
"""

TIMELINE = """(t) => performance.getEntriesByType("resource").filter((e) => e.startTime <= t).map((e) => [
  e.name.replace(location.origin, "").slice(0, 100), Math.round(e.startTime), Math.round(e.responseEnd), e.transferSize])"""

BYTES_BEFORE = """(t) => {
  const nav = performance.getEntriesByType("navigation")[0];
  let total = nav ? nav.transferSize : 0, n = 0;
  for (const e of performance.getEntriesByType("resource")) if (e.responseEnd <= t) { total += e.transferSize; n++; }
  return [total, n];
}"""


def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def init_script(n_cells: int) -> str:
    """INIT_JS for a dataset of ``n_cells``: a frame counts once it draws ≥ ¼ of them."""
    return INIT_JS % max(1, n_cells // 4)


def _page(browser, url, n_cells, timeout_ms):
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.add_init_script(init_script(n_cells))
    page = ctx.new_page()
    page.set_default_timeout(timeout_ms)
    page.goto(url, wait_until="commit")
    return ctx, page


def cellucid_run(browser, base, n_cells, genes, timeout_ms=180_000, lasso=True) -> dict:
    """One cold load of cellucid's viewer, then gene recolors and a lasso of about half the cells."""
    ctx, page = _page(browser, base + "/", n_cells, timeout_ms)
    try:
        page.wait_for_function("window.__bench && window.__bench.ready !== null", polling=50)
        first, ready = page.evaluate("[window.__bench.first, window.__bench.ready]")
        nbytes, nres = page.evaluate(BYTES_BEFORE, first)
        # every point drawn: the first frame after the last cells arrived (progressive
        # loading), else the first frame itself; the rest is measured on the whole dataset
        page.wait_for_function(ALL_DRAWN, polling=50)
        all_drawn = page.evaluate(ALL_DRAWN)
        out = {"first_frame_s": first / 1e3, "all_points_s": all_drawn / 1e3, "colored_frame_s": ready / 1e3,
               "bytes_before_first_frame": nbytes,
               "requests_before_first_frame": nres, "timeline_ms": page.evaluate(TIMELINE, ready),
               "dom_content_loaded_ms": page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")}
        rec = []
        for g in genes:
            ms = page.evaluate(
                """async (g) => {
                  const app = window.cellucid.app, t0 = performance.now();
                  await new Promise((res, rej) => {
                    const offE = app.on("error", (m) => { offE(); rej(new Error(m)); });
                    const off = app.on("colors", () => {
                      const s = app.store.get();
                      if (s.colorBy && s.colorBy.kind === "gene" && s.colorBy.name === g) { off(); offE(); res(); }
                    });
                    window.cellucid.setColorBy(g, "gene");
                  });
                  await window.cellucid.frame();
                  await new Promise((r) => requestAnimationFrame(r));
                  return performance.now() - t0;
                }""",
                g,
            )
            rec.append(ms / 1e3)
        out["gene_recolor_s"] = rec
        try:
            out.update(_cellucid_pan(page))
        except Exception as exc:  # the other figures still count
            out["pan_error"] = f"{type(exc).__name__}: {exc}"[:300]
        if lasso:
            try:
                out.update(_cellucid_lasso(page, n_cells))
            except Exception as exc:  # the load and recolor figures still count
                out["lasso_error"] = f"{type(exc).__name__}: {exc}"[:300]
        try:
            out.update(page.evaluate(MEMORY))
        except Exception as exc:
            out["memory_error"] = f"{type(exc).__name__}: {exc}"[:300]
        return out
    finally:
        ctx.close()


ALL_DRAWN = """(() => { const T = window.__bench, s = window.cellucid && window.cellucid.state();
  if (!s || !s.all_cells_loaded) return null;
  const k = T.allNote === null ? 0 : T.allNote;
  return T.presented[k] === undefined ? null : T.presented[k]; })()"""

# The tab's memory once everything is loaded and used: the JS heap (performance.memory,
# precise with --enable-precise-memory-info) and the typed arrays the viewer holds, found by
# walking its objects (the app, its renderer, geometry, columns, index) — the largest single
# buffer must stay under Chrome's ~1 GB (2^30) allocation cap.
MEMORY = """(() => {
  const seen = new Set(), bufs = new Map();
  const walk = (o, path, depth) => {
    if (!o || typeof o !== "object" || seen.has(o) || depth > 5) return;
    seen.add(o);
    if (ArrayBuffer.isView(o)) {
      const b = o.buffer;
      if (!bufs.has(b) || bufs.get(b)[1].length > path.length) bufs.set(b, [b.byteLength, path]);
      return;
    }
    if (o instanceof Node || o instanceof Window) return;
    const entries = o instanceof Map ? [...o.entries()] : Object.entries(o);
    for (const [k, v] of entries) { try { walk(v, path + "." + String(k).slice(0, 30), depth + 1); } catch (e) {} }
  };
  const app = window.cellucid.app;
  walk(app, "app", 0);
  const list = [...bufs.values()].sort((a, b) => b[0] - a[0]);
  const m = performance.memory || {};
  return { js_heap_bytes: m.usedJSHeapSize || null, js_heap_total_bytes: m.totalJSHeapSize || null,
           typed_array_bytes: list.reduce((t, x) => t + x[0], 0),
           largest_buffer_bytes: list.length ? list[0][0] : 0, largest_buffers: list.slice(0, 5) };
})()"""

PAN_S = 1.5  # seconds of dragging per pan measurement (bench/report.py describes it as 1.5 s)


# One pointer move per animation frame in a small circle around (x, y) for ms, on the live
# view's canvas (the mouse button is already down); resolves with the end time. Shared with
# bench/views_bench.py.
CIRCLE_DRAG_JS = """([x, y, ms]) => new Promise((done) => {
  const canvas = window.cellucid.app.dom.canvas, t0 = performance.now();
  let k = 0;
  const step = () => {
    if (performance.now() - t0 > ms) return done(performance.now());
    k++;
    const a = k * 0.15;
    canvas.dispatchEvent(new PointerEvent("pointermove", { bubbles: true, pointerId: 1, isPrimary: true,
      clientX: x + 40 * Math.sin(a), clientY: y + 40 * (1 - Math.cos(a)) }));
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
})"""


def _drag_frames(page, seconds: float) -> list:
    """Drag the view in a small circle for ``seconds`` and return the frames drawn meanwhile
    as ``[time ms, points]``, from the ``cellucid:draw`` marks. The press is a real mouse
    press (Playwright); the moves are pointer events sent in the page at every animation
    frame, as a mouse moved by hand delivers them (each Playwright move would wait for a
    frame round trip of its own). The view is put back where it was afterwards."""
    c = page.evaluate("""() => {
      window.__pan = [];
      if (!window.__panObserver) {
        window.__panObserver = new PerformanceObserver((l) => { for (const e of l.getEntries())
          if (e.name === "cellucid:draw") window.__pan.push([e.startTime, e.detail.points]); });
        window.__panObserver.observe({ type: "mark" });
      }
      window.__panCamera = window.cellucid.app.camera.snapshot();
      const r = window.cellucid.app.dom.canvas.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
    }""")
    try:
        end = circle_drag(page, c, seconds)
    finally:
        page.evaluate("""async () => { const app = window.cellucid.app; app.camera.restore(window.__panCamera);
                         app.requestRender(); await window.cellucid.frame(); }""")
    return [f for f in page.evaluate("window.__pan.slice()") if f[0] <= end]  # not the full frame after it


def circle_drag(page, c: dict, seconds: float) -> float:
    """Press the mouse at ``c`` ({x, y}, page px), move it in a small circle once per
    animation frame for ``seconds`` (CIRCLE_DRAG_JS), release; returns the page time (ms) the
    moves ended. Shared with bench/views_bench.py."""
    page.mouse.move(c["x"], c["y"])
    page.mouse.down()
    try:
        return page.evaluate(CIRCLE_DRAG_JS, [c["x"], c["y"], seconds * 1e3])
    finally:
        page.mouse.up()


def _pan_figures(frames: list) -> dict:
    """The median interval between ``frames`` (what a user sees while panning) and their
    median point count."""
    times = [t for t, _ in frames]
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    if len(gaps) < 2:
        raise RuntimeError(f"only {len(frames)} frames drawn in {PAN_S} s of dragging")
    return {"frame_ms": gaps[len(gaps) // 2], "frames": len(frames),
            "points": sorted(p for _, p in frames)[len(frames) // 2]}


def _cellucid_pan(page) -> dict:
    """Pan while dragging, twice on the same page from the same view: with the renderer's
    default motion frames, then with every frame in full (``motionPoints = 0``, as
    ``?motion_points=0``) — the ratio of the two is the gain of motion frames (the CPU
    renderer's; a WebGL renderer draws every frame in full either way). A short drag before
    them, not counted, takes the first drag's one-time costs."""
    _drag_frames(page, 0.3)
    coarse = _pan_figures(_drag_frames(page, PAN_S))
    kept = page.evaluate("(() => { const r = window.cellucid.app.renderer, k = r.motionPoints; r.motionPoints = 0; return k; })()")
    try:
        full = _pan_figures(_drag_frames(page, PAN_S))
    finally:
        page.evaluate(f"window.cellucid.app.renderer.motionPoints = {json.dumps(kept)}")
    return {"pan_frame_ms": coarse["frame_ms"], "pan_points": coarse["points"],
            "pan_full_frame_ms": full["frame_ms"], "pan_full_points": full["points"],
            "pan_frames": [coarse["frames"], full["frames"]]}


LASSO_PLAN = """(n) => {
  const app = window.cellucid.app, c = app.dom.canvas.getBoundingClientRect();
  const xs = [];
  for (let k = 0; k < 4000; k++) {
    const p = app.project(Math.floor((k + 0.5) * n / 4000));
    if (p) xs.push(p.x);
  }
  xs.sort((a, b) => a - b);
  window.__lasso = {};
  window.addEventListener("pointerup", () => (window.__lasso.up = performance.now()), { capture: true, once: true });
  const off = app.on("selection", (sel) => { window.__lasso.done = performance.now(); window.__lasso.count = sel.length; off(); });
  window.cellucid.setTool("lasso");
  // Only the press must land on the canvas (it captures the pointer); the corners
  // may lie under overlays. Press on the left edge at mid height, nudged inward
  // until the canvas is hit.
  const x0 = c.left + 2, y0 = c.top + 2, y1 = c.top + c.height - 2, x1 = c.left + xs[xs.length >> 1];
  const ym = c.top + c.height / 2;
  let xs0 = null;
  for (let dx = 2; dx < (x1 - c.left) / 2; dx += 4) {
    if (document.elementFromPoint(c.left + dx, ym) === app.dom.canvas) { xs0 = c.left + dx; break; }
  }
  return { x0, y0, x1, y1, xs0, ym, onCanvas: xs0 !== null, nproj: xs.length };
}"""


def drag_half_lasso(page, viewer, n_cells, offset=(0.0, 0.0)) -> float:
    """Drag a lasso rectangle from the canvas' left edge to the median projected x (about
    half the cells) with ``page``'s mouse. ``viewer`` is the page or frame the viewer runs
    in, at ``offset`` (its position in ``page``, for an iframe). Returns the wall-clock time
    just before the release; the viewer's ``window.__lasso`` records release and selection."""
    info = viewer.evaluate(LASSO_PLAN, n_cells)
    if not info["onCanvas"]:
        raise RuntimeError(f"lasso corners are not on the canvas: {info}")
    dx, dy = offset
    x0, y0, x1, y1, xs0, ym = (info[k] for k in ("x0", "y0", "x1", "y1", "xs0", "ym"))
    m = page.mouse
    m.move(xs0 + dx, ym + dy)
    m.down()
    path = [(x0, y1), (x1, y1), (x1, y0), (x0, y0), (x0, ym)]
    last = (xs0, ym)
    for p in path:
        for k in range(1, 13):
            m.move(last[0] + (p[0] - last[0]) * k / 12 + dx, last[1] + (p[1] - last[1]) * k / 12 + dy)
        last = p
    released = time.time()
    m.up()
    return released


def _cellucid_lasso(page, n_cells) -> dict:
    """Drag a lasso over about half the cells; pointer-up → the page's selection event."""
    drag_half_lasso(page, page, n_cells)
    page.wait_for_function("window.__lasso && window.__lasso.done !== undefined", polling=20)
    r = page.evaluate("window.__lasso")
    return {"lasso_s": (r["done"] - r["up"]) / 1e3, "lasso_count": r["count"], "lasso_fraction": r["count"] / n_cells}


def cellxgene_run(browser, base, n_cells, genes, timeout_ms=300_000) -> dict:
    """One cold load of cellxgene's page, then gene recolors through its search box."""
    ctx, page = _page(browser, base + "/", n_cells, timeout_ms)
    try:
        page.wait_for_function("window.__bench && window.__bench.first !== null", polling=50)
        first = page.evaluate("window.__bench.first")
        nbytes, nres = page.evaluate(BYTES_BEFORE, first)
        out = {"first_frame_s": first / 1e3, "colored_frame_s": None, "bytes_before_first_frame": nbytes,
               "requests_before_first_frame": nres, "timeline_ms": page.evaluate(TIMELINE, first),
               "dom_content_loaded_ms": page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")}
        page.wait_for_timeout(1000)  # let it settle (it loads more after the first frame)
        rec = []
        for g in genes:
            box = page.get_by_test_id("gene-search")
            box.click()
            box.fill(g)
            page.get_by_test_id(f"suggest-menu-item-{g}").click()
            page.get_by_test_id(f"colorby-{g}").click()
            # Done: the first big frame after the click on colorby-<gene> and after the
            # gene's data arrived. Timed from the click on the suggestion (the pick).
            ms = page.evaluate(
                """async (g) => {
                  const T = window.__bench;
                  const pick = T.clicks.filter((c) => c[0] === "suggest-menu-item-" + g).pop()[1];
                  const colorby = T.clicks.filter((c) => c[0] === "colorby-" + g).pop()[1];
                  const deadline = performance.now() + 300000;
                  for (;;) {
                    const data = performance.getEntriesByType("resource").filter((e) => e.name.includes("data/var") && e.name.includes(encodeURIComponent(g)) || e.name.includes("data/var") && e.name.includes(g));
                    const arrived = data.length ? Math.max(...data.map((e) => e.responseEnd)) : null;
                    if (arrived !== null) {
                      const after = Math.max(arrived, colorby);
                      const f = T.presented.find((t) => t > after);
                      if (f !== undefined) return f - pick;
                    }
                    if (performance.now() > deadline) throw new Error("no recolor frame");
                    await new Promise((r) => setTimeout(r, 20));
                  }
                }""",
                g,
            )
            rec.append(ms / 1e3)
            page.wait_for_timeout(300)
        out["gene_recolor_s"] = rec
        return out
    finally:
        ctx.close()


# A page that makes the browser do once what any first page does: start a renderer, lay out
# text, draw a 2D canvas and composite it (on SwiftShader here).
WARM_UP_PAGE = ("data:text/html,<!doctype html><body style='margin:0'><p>warm-up</p>"
                "<canvas id=c width=1280 height=700></canvas><script>const x=c.getContext('2d');"
                "x.fillStyle='%23369';x.fillRect(0,0,1280,700);requestAnimationFrame(()=>document.title='done')</script>")


def warm_up(browser) -> None:
    """One throwaway page load in a freshly launched browser, before any timed one (for every
    tool alike): the first page of a browser process pays its one-time start-up (renderer and
    GPU process initialization: 0.1–0.8 s here), which a user whose browser is already open
    does not, and which made the first of the three timed loads an outlier for both tools."""
    ctx = browser.new_context(viewport=VIEWPORT)
    try:
        page = ctx.new_page()
        page.goto(WARM_UP_PAGE)
        page.wait_for_function("document.title === 'done'")
    finally:
        ctx.close()


def measure(kind: str, start_server, n_cells: int, genes_per_run: list[list[str]], repeats: int, log=print) -> dict:
    """``repeats`` cold page loads, each on a freshly started server (so data is not cached
    by the server either); ``genes_per_run[r]`` are recolored in run ``r``."""
    from playwright.sync_api import sync_playwright

    runs = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS)
        try:
            warm_up(browser)
            for r in range(repeats):
                srv = start_server()
                try:
                    t = time.perf_counter()
                    if kind == "cellucid":
                        run = cellucid_run(browser, srv.base, n_cells, genes_per_run[r])
                    else:
                        run = cellxgene_run(browser, srv.base, n_cells, genes_per_run[r])
                    run["wall_s"] = time.perf_counter() - t
                finally:
                    srv.stop()
                runs.append(run)
                log(f"    browser {kind} run {r + 1}/{repeats}: first frame {run['first_frame_s']:.2f} s, "
                    f"recolor {_median(run['gene_recolor_s']):.2f} s, {run['bytes_before_first_frame'] / 1e6:.1f} MB"
                    + (f", lasso {run['lasso_count']:,} cells in {run['lasso_s'] * 1e3:.0f} ms" if "lasso_count" in run else ""))
        finally:
            browser.close()
    recolors = [x for run in runs for x in run["gene_recolor_s"]]
    summary = {
        "first_frame_s": _median([x["first_frame_s"] for x in runs]),
        "all_points_s": _median([x.get("all_points_s") for x in runs]),
        "colored_frame_s": _median([x["colored_frame_s"] for x in runs]),
        "bytes_before_first_frame": _median([x["bytes_before_first_frame"] for x in runs]),
        "gene_recolor_s": _median(recolors),
        "gene_recolor_n": len(recolors),
    }
    for k in ("js_heap_bytes", "typed_array_bytes", "largest_buffer_bytes"):
        got = [x[k] for x in runs if x.get(k)]
        if got:
            summary[k] = max(got)  # memory: the worst load, not the median
    lassos = [x for x in runs if "lasso_count" in x]
    if lassos:
        summary["lasso_s"] = _median([x["lasso_s"] for x in lassos])
        summary["lasso_count"] = _median([x["lasso_count"] for x in lassos])
        summary["lasso_fraction"] = _median([x["lasso_fraction"] for x in lassos])
    pans = [x for x in runs if "pan_frame_ms" in x]
    if pans:
        for k in ("pan_frame_ms", "pan_points", "pan_full_frame_ms", "pan_full_points"):
            summary[k] = _median([x[k] for x in pans])
    errs = [x["pan_error"] for x in runs if "pan_error" in x]
    if errs:
        summary["pan_error"] = errs[0]
    errs = [x["lasso_error"] for x in runs if "lasso_error" in x]
    if errs:
        summary["lasso_error"] = errs[0]
    return {"runs": runs, "summary": summary}
