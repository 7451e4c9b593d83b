"""Benchmark cellucid against cellxgene 1.3.0 and cellucid 0.9.5 — one command.

    python bench/run.py --cells 100000 1000000

Generates the datasets (deterministic demo, cached in bench/data/), installs the peers
into venvs under bench/.cache/ when missing, measures every tool on every dataset
(servers over HTTP, viewers in headless Chromium, the widget in a real JupyterLab, the gene
index directly), then writes
bench/results/latest.json, docs/benchmarks.md and the scaling plot. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import statistics
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import browser_bench  # noqa: E402
import datasets  # noqa: E402
import http_bench  # noqa: E402
import notebook_bench  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402
import retry  # noqa: E402
import tools  # noqa: E402

RESULTS = HERE / "results"
LOGS = HERE / ".cache" / "logs"

TOOLS = {
    "cellucid": lambda: tools.Cellucid("h5ad"),
    "cellucid-noindex": lambda: tools.Cellucid("h5ad", gene_index=False),
    "cellucid-zarr": lambda: tools.Cellucid("zarr"),
    "cellucid-export": lambda: tools.Cellucid("export"),
    "cellucid-inmem": tools.CellucidInMemory,
    "cellxgene": tools.Cellxgene,
    "cellucid095": tools.Cellucid095,
}


def log(msg: str) -> None:
    print(msg, flush=True)


def machine() -> dict:
    import psutil

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_avg_at_start": os.getloadavg(),
    }


def versions(peer_status: dict) -> dict:
    from importlib import metadata
    import h5py
    import numpy

    import cellucid

    v = {"cellucid": cellucid.__version__, "anndata": metadata.version("anndata"), "h5py": h5py.__version__,
         "numpy": numpy.__version__}
    for name, st in peer_status.items():
        v[name] = st["version"] if st["ok"] else f"not installed: {st['message'][:200]}"
    try:
        out = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=30)
        v["chromium"] = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "?"
    except OSError as exc:
        v["chromium"] = f"missing ({exc})"
    return v


def import_times(repeats: int = 3) -> dict:
    """Fresh-interpreter import time of what a server start must import (a floor for
    start → ready): median of ``repeats`` runs each, in seconds."""
    out = {}
    for mod in ("h5py", "anndata", "tornado.web", "cellucid.cli", "cellucid.data", "cellucid.server.app"):
        code = f"import time; t = time.perf_counter(); import {mod}; print(time.perf_counter() - t)"
        ts = []
        for _ in range(repeats):
            r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
            if r.returncode == 0:
                ts.append(float(r.stdout.strip().splitlines()[-1]))
        out[mod] = sorted(ts)[len(ts) // 2] if ts else None
    return out


def save(results: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1, default=str))
    os.replace(tmp, out)


def measured(results: dict, fn, what: str, log):
    """``fn()`` retried once on failure (retry.once); a retry is noted in ``results["retries"]``
    and, for a dict result, in the result itself (``"retried"``: the first attempt's error)."""
    value, first_error = retry.once(fn, what, log)
    if first_error is not None:
        results.setdefault("retries", []).append({"where": what, "first_error": first_error})
        if isinstance(value, dict):
            value["retried"] = first_error
    return value


def notebook_rows(args, ds, peer_status, results, log) -> list[dict]:
    """The notebook part on ``ds``: ``--notebook-rounds`` rounds, each measuring every tool once
    in turn, so that a burst of load on the machine hits every tool alike; one row per tool
    with the median of its rounds (each round kept in ``rounds``)."""
    runs: dict[str, list] = {}
    tools = {}
    for key in args.notebook_tools:
        if key in peer_status and not peer_status[key]["ok"]:
            runs[key] = [{"error": "not installed"}]
            continue
        if key in peers.IMPORTS:  # its kernel must import what the notebook needs before Lab starts it
            ok, msg = peers.wait_importable(key, log=log)
            if not ok:
                runs[key] = [{"error": msg}]
                results["errors"].append({"where": f"notebook {key} {ds.name}", "error": msg})
                continue
        tools[key] = {"cellucid": notebook_bench.CELLUCID_HTTP, "cellucid-comm": notebook_bench.CELLUCID_COMM}.get(key) \
            or notebook_bench.jscatter_tool(str(peers.executable(key)))
    for _ in range(args.notebook_rounds):
        for key, tool in tools.items():
            try:
                runs.setdefault(key, []).append(measured(
                    results, lambda: notebook_bench.measure(tool, ds, args.repeats, log),
                    f"notebook {tool.label} {ds.name}", log))
            except Exception as exc:
                log(f"    notebook {tool.label}: FAILED {type(exc).__name__}: {exc}")
                runs.setdefault(key, []).append({"error": f"{type(exc).__name__}: {exc}"})
                results["errors"].append({"where": f"notebook {tool.label} {ds.name}", "error": traceback.format_exc()[-1500:]})
    rows = []
    for key, got in runs.items():
        label = tools[key].label if key in tools else key
        row = {"tool": label, "dataset": ds.name, "n_cells": ds.n_cells, "n_genes": ds.n_genes}
        ok = [r for r in got if "error" not in r]
        if not ok:
            rows.append({**row, "error": got[-1]["error"]})
            continue
        summary = {k: statistics.median(r["summary"][k] for r in ok) for k in ok[0]["summary"]}
        rows.append({**row, "summary": summary, "rounds": ok, "failed_rounds": len(got) - len(ok),
                     "retried_rounds": sum("retried" in r for r in ok)})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, nargs="+", default=[100_000, 1_000_000], help="cell counts (2,000 genes each)")
    ap.add_argument("--genes", type=int, default=2000, help="genes of the main datasets")
    ap.add_argument("--wide-genes", type=int, default=20000,
                    help="also a dataset with this many genes at the smallest cell count (0: none)")
    ap.add_argument("--tools", nargs="+", default=list(TOOLS), choices=list(TOOLS))
    ap.add_argument("--repeats", type=int, default=3, help="server starts / page loads per measurement")
    ap.add_argument("--warm-genes", type=int, default=20, help="random genes for warm p50/p95")
    ap.add_argument("--parts", nargs="+", default=["http", "browser", "notebook", "gene-index"],
                    choices=["http", "browser", "notebook", "gene-index"], help="which measurements to run")
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium measurements")
    ap.add_argument("--notebook-tools", nargs="+", default=["cellucid", "cellucid-comm", "jscatter"],
                    choices=["cellucid", "cellucid-comm", "jscatter"],
                    help="widgets measured in JupyterLab (the notebook part)")
    ap.add_argument("--notebook-rounds", type=int, default=3,
                    help="rounds of the notebook part; each measures every widget once, in turn")
    ap.add_argument("--browser-genes", type=int, default=2, help="gene recolors per page load")
    ap.add_argument("--zarr-max-cells", type=int, default=100_000,
                    help="write a .zarr copy only up to this many cells (anndata loads it all to write it)")
    ap.add_argument("--export-max-cells", type=int, default=1_000_000,
                    help="write an export folder (cellucid.export.prepare) only up to this many cells")
    ap.add_argument("--inmem-max-cells", type=int, default=1_000_000,
                    help="measure the in-memory AnnData server only up to this many cells (it holds all of X)")
    ap.add_argument("--peer095-max-cells", type=int, default=1_000_000,
                    help="replay cellucid 0.9.5 only up to this many cells (every gene reads all of X)")
    ap.add_argument("--merge", action="store_true",
                    help="keep results in latest.json for datasets not measured in this run")
    ap.add_argument("--report-only", action="store_true", help="rewrite docs from bench/results/latest.json")
    ap.add_argument("--note", action="append", default=[],
                    help="a sentence added to the report's header and kept in the JSON (e.g. the machine's "
                         "load during a part of the run, read from `uptime`); with --report-only, added to it")
    ap.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = ap.parse_args(argv)

    if args.report_only:
        results = json.loads(args.out.read_text())
        if args.note:
            results["notes"] = results.get("notes", []) + args.note
            save(results, args.out)
        report.write(results)
        return 0

    started = time.time()
    results = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "command": " ".join(sys.argv),
               "machine": machine(), "settings": vars(args) | {"out": str(args.out)},
               "datasets": {}, "http": [], "browser": [], "notebook": [], "gene_index": [], "errors": [], "retries": [],
               "notes": list(args.note)}
    old = json.loads(args.out.read_text()) if args.merge and args.out.exists() else None

    log("== peers")
    peer_status = {}
    for name in ("cellxgene", "cellucid095", "jscatter"):
        if name not in args.tools + (args.notebook_tools if "notebook" in args.parts else []):
            continue
        ok, msg = peers.ensure(name, log)
        peer_status[name] = {"ok": ok, "message": msg, "version": peers.version(name) if ok else None}
        log(f"  {msg}")
        if not ok:
            results["errors"].append({"where": f"install {name}", "error": msg})
    results["versions"] = versions(peer_status)
    results["import_s"] = import_times()
    log("  import times: " + ", ".join(f"{k} {v:.2f} s" for k, v in results["import_s"].items() if v is not None))

    log("== datasets")
    specs = [(c, args.genes) for c in args.cells]
    if args.wide_genes:
        specs.append((min(args.cells), args.wide_genes))
    dsets = []
    for c, g in specs:
        main_genes = g == args.genes
        ds = datasets.ensure(c, g, zarr=main_genes and c <= args.zarr_max_cells,
                             export=main_genes and c <= args.export_max_cells, log=log)
        dsets.append(ds)
        results["datasets"][ds.name] = {"n_cells": c, "n_genes": g, "h5ad_bytes": ds.size_bytes, "density": ds.density,
                                        "zarr": bool(ds.zarr), "export": bool(ds.export)}
    save(results, args.out)

    for ds in dsets:
        log(f"== {ds.name}")
        log(f"  page cache warmed in {datasets.warm_page_cache(ds):.1f} s")
        for key in args.tools if "http" in args.parts else []:
            tool = TOOLS[key]()
            if key in peer_status and not peer_status[key]["ok"]:
                results["http"].append({"tool": tool.label, "dataset": ds.name, "error": "not installed"})
                continue
            if isinstance(tool, tools.Cellucid) and tool.path(ds) is None:
                continue  # that format is not written for this dataset (see --extra-formats-max-cells)
            if key in ("cellucid-inmem", "cellucid-zarr", "cellucid-export") and ds.n_genes != args.genes:
                continue
            limit = {"cellucid-inmem": args.inmem_max_cells, "cellucid095": args.peer095_max_cells}.get(key)
            if limit is not None and ds.n_cells > limit:
                log(f"    {tool.label}: not measured above {limit:,} cells (--{key.replace('cellucid-', '').replace('cellucid', 'peer')}-max-cells)")
                continue
            try:
                results["http"].append(measured(
                    results, lambda: http_bench.measure(tool, ds, LOGS, args.repeats, args.warm_genes, log),
                    f"http {tool.label} {ds.name}", log))
            except Exception as exc:  # recorded and shown in the report, the run goes on
                log(f"    {tool.label}: FAILED {type(exc).__name__}: {exc}")
                results["http"].append({"tool": tool.label, "dataset": ds.name, "n_cells": ds.n_cells,
                                        "n_genes": ds.n_genes, "error": f"{type(exc).__name__}: {exc}"})
                results["errors"].append({"where": f"http {tool.label} {ds.name}", "error": traceback.format_exc()[-1500:]})
            save(results, args.out)

        if not args.no_browser and "browser" in args.parts and ds.n_genes == args.genes:
            genes = http_bench.pick_genes(ds.h5ad, args.repeats * args.browser_genes, seed=7)
            per_run = [genes[r * args.browser_genes:(r + 1) * args.browser_genes] for r in range(args.repeats)]
            for key, kind in (("cellucid", "cellucid"), ("cellxgene", "cellxgene")):
                if key not in args.tools or (key in peer_status and not peer_status[key]["ok"]):
                    continue
                tool = TOOLS[key]()
                if key == "cellucid" and "http" not in args.parts:
                    # The http part leaves the gene index built (it waits for it); without that
                    # part, build it here first, so the recolors read it at every size as after a
                    # full run (a 10M build outlasts the page loads' short-lived servers).
                    srv = tool.start(ds, LOGS)
                    try:
                        log(f"    gene index ready after {tool.settle(srv):.1f} s (built before the browser runs)")
                    finally:
                        srv.stop()
                load_before = os.getloadavg()[0]
                try:
                    r = measured(results, lambda: browser_bench.measure(
                        kind, lambda: tool.start(ds, LOGS), ds.n_cells, per_run, args.repeats, log),
                        f"browser {tool.label} {ds.name}", log)
                    results["browser"].append({"tool": tool.label, "dataset": ds.name, "n_cells": ds.n_cells,
                                               "n_genes": ds.n_genes, **r,
                                               "load_avg_before_after": [load_before, os.getloadavg()[0]]})
                except Exception as exc:
                    log(f"    browser {tool.label}: FAILED {type(exc).__name__}: {exc}")
                    results["browser"].append({"tool": tool.label, "dataset": ds.name, "n_cells": ds.n_cells,
                                               "n_genes": ds.n_genes, "error": f"{type(exc).__name__}: {exc}"})
                    results["errors"].append({"where": f"browser {tool.label} {ds.name}",
                                              "error": traceback.format_exc()[-1500:]})
                save(results, args.out)

        if not args.no_browser and "notebook" in args.parts and ds.n_genes == args.genes:
            results["notebook"] += notebook_rows(args, ds, peer_status, results, log)
            save(results, args.out)

        report.write(results)  # a readable report even if a later dataset fails
        if "gene-index" not in args.parts:
            continue
        log(f"  gene index on {ds.h5ad.name}")
        out = LOGS / f"gene-index-{ds.name}.json"
        def gene_index_run(ds=ds, out=out):
            out.unlink(missing_ok=True)  # a figure of an earlier attempt must not be read as this one's
            subprocess.run([sys.executable, str(HERE / "gene_index_bench.py"), str(ds.h5ad), str(out),
                            str(args.warm_genes)], check=True, capture_output=True, text=True, timeout=1800)
            return json.loads(out.read_text())

        try:
            gi = measured(results, gene_index_run, f"gene index {ds.name}", log)
            results["gene_index"].append({"dataset": ds.name, "n_cells": ds.n_cells, "n_genes": ds.n_genes, **gi})
            log(f"    build {gi['build_s']:.1f} s, column p50 {gi['column_p50_s'] * 1e3:.2f} ms, "
                f"plain backed read {min(gi['plain_backed_s']):.2f} s")
        except Exception as exc:
            err = getattr(exc.__cause__ or exc, "stderr", "") or ""
            log(f"    gene index: FAILED {exc} {err[-500:]}")
            results["errors"].append({"where": f"gene index {ds.name}", "error": f"{exc} {err[-1500:]}"})
        save(results, args.out)

    if old:
        # Keep every old figure this run did not measure again (same kind, tool, dataset).
        for k in ("http", "browser", "notebook", "gene_index"):
            new = {(r.get("tool"), r.get("dataset")) for r in results[k]}
            results[k] = [r for r in old.get(k, []) if (r.get("tool"), r.get("dataset")) not in new] + results[k]
        results["datasets"] = {**old.get("datasets", {}), **results["datasets"]}
        results["errors"] = [e for e in old.get("errors", []) if not any(
            d in e["where"] for d in results["datasets"])] + results["errors"]
        results["versions"] = {**old.get("versions", {}), **results["versions"]}
        results["merged_from"] = old.get("merged_from", []) + [f"{old.get('date')}: {old.get('command')}"]
    results["wall_s"] = time.time() - started
    save(results, args.out)
    report.write(results)
    log(f"== done in {results['wall_s'] / 60:.1f} min: {args.out}, docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
