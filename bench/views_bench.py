"""Frame interval while panning with four views (live + three snapshots, linked cameras).

Usage: python bench/views_bench.py [N_CELLS ...] [--out bench/results/views.json]

For each N: the demo AnnData (N cells, 20 genes) served in memory, the viewer in headless
Chromium (1280×800, Debian's Chromium with SwiftShader software GL, as the other browser
figures), first with the live view alone, then with three snapshots beside it (colored by
n_counts, batch, and batch on X_tsne) in the 2 × 2 grid with linked cameras, so one drag
redraws all four. The view is dragged in a small circle for PAN_S seconds (a real mouse press,
then one pointer move per animation frame, as bench/browser_bench.py does); the figure is the
median interval between consecutive draws of each view (every view redraws once per frame),
reported for the live view and for the slowest view, each the median of REPEATS drags. The
machine's 1-minute load average is recorded with them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

try:  # run as a script (bench/ on sys.path) or imported as bench.views_bench
    from browser_bench import VIEWPORT, circle_drag
except ImportError:
    from bench.browser_bench import VIEWPORT, circle_drag

PAN_S = 1.5
REPEATS = 3  # drags per configuration; each figure is the median over them
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--use-gl=angle", "--use-angle=swiftshader", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

# every view's renderer reports its draws into window.__draws[view index]
INSTRUMENT = """() => {
  const app = window.cellucid.app;
  const renderers = [app.renderer, ...window.cellucid.views().slice(1).map((v) => app.viewManager.entry(v.id).view.renderer)];
  window.__draws = renderers.map(() => []);
  renderers.forEach((r, k) => {
    const base = r.__origOnFrame || r.onFrame;
    r.__origOnFrame = base;
    r.onFrame = (f) => { window.__draws[k].push(performance.now()); if (base) base(f); };
  });
  return renderers.length;
}"""



def drag(page, seconds: float) -> list[float]:
    """Drag for ``seconds``; the median draw interval of each view (ms)."""
    page.evaluate(INSTRUMENT)
    c = page.evaluate("""() => { const r = window.cellucid.app.dom.canvas.getBoundingClientRect();
                                 return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; }""")
    end = circle_drag(page, c, seconds)
    out = []
    for times in page.evaluate("window.__draws"):
        times = [t for t in times if t <= end]
        gaps = [b - a for a, b in zip(times, times[1:])]
        out.append(round(statistics.median(gaps), 1) if len(gaps) >= 2 else None)
    return out


def repeated(page) -> list[float]:
    """Per view, the median over REPEATS drags of its median draw interval (ms)."""
    runs = [drag(page, PAN_S) for _ in range(REPEATS)]
    return [round(statistics.median(x for x in col if x is not None), 1) for col in zip(*runs)]


def measure(n_cells: int, log=print) -> dict:
    from playwright.sync_api import sync_playwright

    from cellucid.anndata_server import AnnDataServer
    from cellucid.data.demo import demo_anndata

    t = time.perf_counter()
    adata = demo_anndata(n_cells, 20)
    log(f"{n_cells:,} cells generated in {time.perf_counter() - t:.1f} s")
    # the machine's load while measuring (2 cores shared with other jobs): frame intervals depend on it
    res = {"n_cells": n_cells, "load_avg_1min": round(os.getloadavg()[0], 1)}
    with AnnDataServer(adata, port=0, quiet=True) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(300_000)
            page.goto(server.url)
            page.wait_for_selector("body[data-ready='1']")
            res["renderer"] = page.evaluate("window.cellucid.state().renderer")
            drag(page, 0.3)  # the first drag's one-time costs, not counted
            res["one_view_ms"] = repeated(page)[0]
            for opts in ({"colorBy": "n_counts"}, {"colorBy": "batch"}, {"colorBy": "batch", "embedding": "X_tsne"}):
                page.evaluate("(o) => window.cellucid.snapshot(o)", opts)
            page.evaluate("window.cellucid.linkCameras(true)")
            page.wait_for_function("window.cellucid.views().length === 4")
            # every snapshot has drawn its data (its embedding and colors loaded)
            page.wait_for_function("""() => window.cellucid.views().slice(1).every((v) => {
                const e = window.cellucid.app.viewManager.entry(v.id).view; return e.geom && e.renderer.frames > 0; })""")
            drag(page, 0.3)
            per_view = repeated(page)
            res["four_views_ms"] = per_view
            res["four_views_live_ms"] = per_view[0]
            res["four_views_slowest_ms"] = max(x for x in per_view if x is not None)
        finally:
            browser.close()
    log(json.dumps(res))
    return res


RESULTS = Path(__file__).parent / "results" / "views.json"
DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
TITLE = "## Views: four views panning"


def section(results: dict | None = None) -> list[str]:
    """The "Views" section of docs/benchmarks.md (``[]`` without results); bench/report.py
    adds it when bench/results/views.json exists, and main() rewrites it in place."""
    if results is None:
        if not RESULTS.exists():
            return []
        results = json.loads(RESULTS.read_text())
    rows = [f"| {r['date']} | {r['n_cells']:,} | {r.get('load_avg_1min', '–')} | {r['renderer']} | {r['one_view_ms']} ms | "
            f"{r['four_views_live_ms']} / {r['four_views_slowest_ms']} ms |" for r in results.get("runs", [])]
    return [TITLE, "",
            "Frame interval while panning with four views (`python bench/views_bench.py N …`, results in "
            "`bench/results/views.json`): the demo AnnData served in memory, the viewer in headless Chromium "
            "(1280×800, SwiftShader software GL, so the CPU renderer draws), the view dragged in a small circle for "
            "1.5 s as in the viewer table above — first with the live view alone, then with three snapshots beside it "
            "(n_counts, batch, batch on X_tsne) in the 2 × 2 grid with **linked cameras**, so every view redraws on "
            "each move. Figure: the median interval between a view's consecutive draws, the median of 3 drags; for "
            "four views the live view's and the slowest view's. While the camera moves, the CPU renderer draws a fixed "
            "250k-cell sample of each view above 375k cells (its motion frames, see docs/viewer.md), so at 1M cells "
            "each view draws 250k cells per frame and the full frame only when the view rests. Measured on this 2-core machine while other jobs ran "
            "(1-minute load average in the table): the absolute figures carry that load, so compare the one-view and "
            "four-view figures of one row (measured minutes apart on the same page), not with the viewer table "
            "above.", "",
            "| date | cells | load avg | renderer | one view | four views: live / slowest |",
            "|---|---|---|---|---|---|", *rows, ""]


def write_doc(doc: Path = DOC) -> None:
    """Replace (or add before "## Reproduce") the Views section of docs/benchmarks.md."""
    text = doc.read_text()
    new = "\n".join(section()) + "\n"
    if TITLE in text:
        start = text.index(TITLE)
        end = text.find("\n## ", start + len(TITLE))
        text = text[:start] + new + (text[end + 1:] if end >= 0 else "")
    else:
        at = text.index("## Reproduce")
        text = text[:at] + new + text[at:]
    doc.write_text(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cells", nargs="*", type=int, default=[100_000])
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    out = Path(args.out)
    old = json.loads(out.read_text()) if out.exists() else {}
    runs = {str(r["n_cells"]): r for r in old.get("runs", [])}
    for n in args.cells:
        r = measure(n)
        r["date"] = dt.date.today().isoformat()
        runs[str(n)] = r
    out.write_text(json.dumps({"runs": sorted(runs.values(), key=lambda r: r["n_cells"])}, indent=1) + "\n")
    print(f"wrote {out}")
    if out == RESULTS:
        write_doc()
        print(f"updated {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
