"""Interleaved A/B of the browser's first frame between versions of cellucid (git worktrees).

    python bench/first_frame_ab.py --rounds 6 --after 2 old=/work/wt/old new=/work/wt/new

Each version is ``TAG=WORKTREE`` (its Python package and its built viewer, ``npm --prefix
WORKTREE/js run build``), optionally with environment variables for its server:
``nopre=/work/wt/new,CELLUCID_ANALYSIS_PREPARE=0``. Every load is a fresh ``cellucid serve``
(``PYTHONPATH=WORKTREE``) and a new browser context, timed as ``browser_bench`` times it;
versions alternate in each round (reversed every other round) because the shared machine's
load moves between minutes. ``--after S`` opens the page S seconds after the server answers
(a user who opens the browser later meets the server's background work: the gene index
build, the analysis preparation); ``--fresh-index`` empties each version's gene-index cache
before every start (a first start). Prints the median first frame and the medians of its
phases (the viewer's ``cellucid:*`` performance marks and the resource timing), and the
server's CPU time during the load; ``--out`` keeps every load as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import browser_bench
import procs
from httpclient import get

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data" / "demo_1000k_2000g.h5ad"

MARKS = """() => Object.fromEntries(performance.getEntriesByType("mark")
  .filter((m) => m.name.startsWith("cellucid:") && m.name !== "cellucid:draw")
  .map((m) => [m.name.slice(9), m.startTime]))"""
RESOURCES = """() => Object.fromEntries(performance.getEntriesByType("resource")
  .map((e) => [e.name.replace(location.origin, "").split("?")[0], [e.startTime, e.responseEnd]]))"""


def version(spec: str) -> tuple[str, Path, dict]:
    """``TAG=WORKTREE[,NAME=VALUE...]`` → (tag, worktree, extra server environment)."""
    head, *env = spec.split(",")
    tag, _, tree = head.partition("=")
    if not tree or not (Path(tree) / "cellucid" / "static" / "viewer" / "index.html").exists():
        raise SystemExit(f"{spec!r}: expected TAG=WORKTREE with a built viewer (npm --prefix WORKTREE/js run build)")
    return tag, Path(tree).resolve(), dict(e.split("=", 1) for e in env)


def server_cpu_s(pid: int) -> float:
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def one_load(browser, tag: str, tree: Path, extra: dict, args) -> dict:
    """Start a server of ``tree``, wait ``args.after`` s, load the page once; the figures."""
    cache = BENCH / ".cache" / f"ab-{tag}"
    if args.fresh_index:
        shutil.rmtree(cache, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(tree), CELLUCID_CACHE_DIR=str(cache), **extra)
    exe = Path(sys.executable).parent / "cellucid"
    cmd = [str(exe), "serve", str(args.data), "--no-browser", "-p", str(procs.free_port()), "-q"]
    srv = procs.start(cmd, int(cmd[-2]), "/_cellucid/health", BENCH / ".cache" / "logs" / f"ab-{tag}.log", env=env)
    try:
        time.sleep(args.after)
        cpu0 = server_cpu_s(srv.proc.pid)
        ctx = browser.new_context(viewport=browser_bench.VIEWPORT)
        ctx.add_init_script(browser_bench.init_script(args.cells))
        try:
            page = ctx.new_page()
            page.set_default_timeout(120_000)
            page.goto(srv.base + "/", wait_until="commit")
            page.wait_for_function("window.__bench && window.__bench.first !== null", polling=50)
            health = json.loads(get(srv.base + "/_cellucid/health").body)
            out = {"tag": tag, "first_ms": page.evaluate("window.__bench.first"), "marks": page.evaluate(MARKS),
                   "resources": page.evaluate(RESOURCES), "server_cpu_s": server_cpu_s(srv.proc.pid) - cpu0,
                   "analysis": health.get("analysis"), "gene_index": health.get("gene_index"),
                   "load_avg": os.getloadavg()[0]}
        finally:
            ctx.close()
    finally:
        srv.stop()
    return out


def phases(r: dict) -> dict:
    """The load's phases (ms) from its marks and resource timing."""
    m, res = r["marks"], r["resources"]
    data_in = max(m.get("embedding", 0), m.get("colors", 0))
    app_js = res.get("/assets/app.js", [0, 0])[1]
    return {"first frame": r["first_ms"], "app.js arrived": app_js, "app.js -> main": m.get("main", 0) - app_js,
            "data in": data_in, "data in -> first draw": m.get("first-draw", 0) - data_in,
            "server CPU during load": r["server_cpu_s"] * 1e3}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("versions", nargs="+", help="TAG=WORKTREE[,NAME=VALUE...]")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--after", type=float, default=0.0, help="seconds between the server's answer and the page")
    ap.add_argument("--fresh-index", action="store_true", help="no gene index: every start is a first start")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--cells", type=int, default=1_000_000, help="cells of --data (a frame counts from 1/4 of them)")
    ap.add_argument("--out", type=Path, default=None, help="every load as a JSON line")
    args = ap.parse_args(argv)
    versions = [version(v) for v in args.versions]
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=browser_bench.LAUNCH_ARGS)
        try:
            browser_bench.warm_up(browser)
            for v in versions:  # one untimed load each: caches, a first index build
                one_load(browser, *v, args)
            for k in range(args.rounds):
                for v in versions if k % 2 == 0 else versions[::-1]:
                    r = one_load(browser, *v, args)
                    rows.append(r)
                    print(f"{r['tag']:>12}: first frame {r['first_ms']:5.0f} ms, analysis {r['analysis']}, "
                          f"gene index {r['gene_index']}, load {r['load_avg']:.1f}", flush=True)
                    if args.out:
                        with args.out.open("a") as f:
                            f.write(json.dumps(r) + "\n")
        finally:
            browser.close()
    tags = [v[0] for v in versions]
    table = {t: [phases(r) for r in rows if r["tag"] == t] for t in tags}
    print(f"\nmedians (ms) of {args.rounds} loads each, page {args.after:g} s after the server answered"
          + (", no gene index" if args.fresh_index else ""))
    print(f"{'':24}" + "".join(f"{t:>14}" for t in tags))
    for name in table[tags[0]][0]:
        print(f"{name:24}" + "".join(f"{statistics.median(x[name] for x in table[t]):14.0f}" for t in tags))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
