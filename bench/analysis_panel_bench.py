"""How the viewer's Analysis panel copes with every gene of a large DE answer (headless
Chromium, software GL, this machine): a demo ``.h5ad`` with ``--genes`` genes, a DE run of
``--group`` cells vs the rest from the panel, then the main-thread cost of what the user
does with the table. Writes ``bench/results/analysis_panel.json``; docs/analysis.md quotes it.

    PYTHONPATH=. python bench/analysis_panel_bench.py --cells 10000 --genes 20000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "browser"))

OBSERVE_JS = """() => { window.__long = []; new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); })
  .observe({ type: "longtask", buffered: false }); }"""

# synchronous time of a click's handler (sorting, filtering, painting the rows in view)
CLICK_MS = """(sel) => { const t = performance.now(); document.querySelector(sel).click(); return performance.now() - t; }"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cells", type=int, default=10000)
    ap.add_argument("--genes", type=int, default=20000)
    ap.add_argument("--group", type=int, default=1000)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from browser_page import CHROMIUM, CHROMIUM_ARGS, open_viewer
    from cellucid.anndata_server import AnnDataServer
    from cellucid.data.demo import write_demo_h5ad

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "demo.h5ad")
        write_demo_h5ad(path, n_cells=args.cells, n_genes=args.genes)
        srv = AnnDataServer(path, port=0, quiet=True).start_background()
        # measured once the server's background preparation (gene index, totals) is done,
        # as a user who opens the panel a few seconds after the page would find it
        import urllib.request
        for _ in range(600):
            if json.load(urllib.request.urlopen(srv.base_url + "_cellucid/health")).get("analysis") == "ready":
                break
            time.sleep(0.5)
        try:
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                v = open_viewer(b, srv.url)
                page = v.page
                page.click("[data-testid=analysis-open]")
                v.js("n => window.cellucid.select(Array.from({length: n}, (_, i) => 3 * i))", args.group)
                v.js(OBSERVE_JS)
                t0 = time.perf_counter()
                page.click("[data-testid=de-run]")
                page.wait_for_selector("[data-testid=de-status][data-state=done]", timeout=600000)
                answer_s = time.perf_counter() - t0
                page.wait_for_function("document.querySelector('[data-testid=de-count]').dataset.count !== undefined")
                v.frame()
                # again with other cells: the server's per-gene totals are made by now
                v.js("n => window.cellucid.select(Array.from({length: n}, (_, i) => 3 * i + 1))", args.group)
                t0 = time.perf_counter()
                page.click("[data-testid=de-run]")
                page.wait_for_selector("[data-testid=de-status][data-state=done]", timeout=600000)
                again_s = time.perf_counter() - t0
                # the page's own work on an answer: filter, sort, paint the rows in view, first volcano chunk
                render_ms = v.js("""() => { const st = window.cellucid.analysis.store; const t = performance.now();
                    st.patch('de', {result: {...st.get().de.result}}); return performance.now() - t; }""")
                net = v.js("""performance.getEntriesByType('resource').filter(e => e.name.includes('rank_genes'))
                    .map(e => [e.requestStart - e.startTime, e.responseStart - e.requestStart, e.responseEnd - e.responseStart])""")
                out = {
                    "network_ms_per_run": [[round(x, 1) for x in n] for n in net],
                    "cells": args.cells, "genes": args.genes, "group": args.group,
                    "de_click_to_table_first_s": round(answer_s, 3),
                    "de_click_to_table_again_s": round(again_s, 3),
                    "render_answer_ms": round(render_ms, 1),
                    "rows_in_dom": v.js("document.querySelectorAll('[data-testid=de-row]').length"),
                    "longest_task_during_de_ms": round(max(v.js("window.__long") or [0]), 1),
                    "sort_click_ms": round(v.js(CLICK_MS, "[data-testid=de-sort-logfoldchanges]"), 1),
                    "sort_again_ms": round(v.js(CLICK_MS, "[data-testid=de-sort-logfoldchanges]"), 1),
                }
                t = v.js("""() => { const i = document.querySelector('[data-testid=de-padj]'); const t = performance.now();
                    i.value = '0.05'; i.dispatchEvent(new Event('input')); return performance.now() - t; }""")
                out["filter_input_ms"] = round(t, 1)
                out["scroll_to_middle_ms"] = round(v.js("""() => { const s = document.querySelector('[data-testid=de-table]');
                    const t = performance.now(); s.scrollTop = s.scrollHeight / 2; s.dispatchEvent(new Event('scroll'));
                    return performance.now() - t; }"""), 1)
                with page.expect_download():
                    out["csv_click_ms"] = round(v.js(CLICK_MS, "[data-testid=de-csv]"), 1)
                v.js("window.__long = []")
                page.wait_for_timeout(1500)  # the volcano's chunks of the filter change
                out["longest_task_after_filter_ms"] = round(max(v.js("window.__long") or [0]), 1)
                b.close()
        finally:
            srv.stop()
    print(json.dumps(out, indent=1))
    with open(os.path.join(HERE, "results", "analysis_panel.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
