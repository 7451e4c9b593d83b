"""What the smoke (volumetric) render mode costs per frame, on the GPU (WebGL2; here
SwiftShader, software GL) and on the CPU renderer, next to a points frame of the same view.

    python bench/smoke_bench.py --cells 100000            # ~1 min
    python bench/smoke_bench.py --cells 1000000           # writes a 1M-cell demo first

For each renderer: the 3D demo embedding coloured by cell type in a 1100×640 page; the
volume build (splat + blur, once per colouring or visibility change) is timed once, then
--frames frames are drawn and timed one by one (WebGL: draw + a 1-pixel readPixels, which
waits for the GPU to finish). Prints a table and writes bench/results/smoke_<cells>.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "browser"))

MEASURE = """async ([mode, frames]) => {
  const c = window.cellucid, app = c.app, r = app.renderer;
  c.setViewOptions({ renderMode: mode });
  await c.frame();
  const gl = r.kind === 'webgl' ? r.gl : null, px = new Uint8Array(4);
  const finish = () => gl && gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
  let build = null;
  if (mode === 'smoke') {
    app.emit('colors');  // a new colouring: the volume is built again in the next frame
    const t0 = performance.now();
    r.drawNow(); finish();
    build = app.smoke.lastBuildMs;
  }
  const times = [];
  for (let k = 0; k < frames; k++) {
    app.camera.yaw += 0.05; app.camera.changed();  // an orbit step, as when dragging
    const t0 = performance.now();
    r.drawNow(); finish();
    times.push(performance.now() - t0);
  }
  return { build, times };
}"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, default=100_000)
    ap.add_argument("--frames", type=int, default=5)
    args = ap.parse_args()
    from browser_page import CHROMIUM, CHROMIUM_ARGS, open_viewer
    from playwright.sync_api import sync_playwright

    from cellucid.anndata_server import AnnDataServer
    from cellucid.data.demo import write_demo_h5ad

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "demo.h5ad")
        t0 = time.perf_counter()
        write_demo_h5ad(path, n_cells=args.cells, n_genes=20)
        print(f"demo with {args.cells:,} cells written in {time.perf_counter() - t0:.1f} s")
        srv = AnnDataServer(path, port=0, quiet=True).start_background()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for renderer in ("webgl", "cpu"):
                    v = open_viewer(browser, f"{srv.url}?renderer={renderer}#dimension=3")
                    v.js("window.cellucid.setDimension(3)")
                    v.page.wait_for_function("window.cellucid.state().dimension === 3", timeout=120000)
                    v.frame()
                    for mode in ("points", "smoke"):
                        out = v.js(MEASURE, [mode, args.frames])
                        rows.append({"renderer": renderer, "mode": mode, "cells": args.cells,
                                     "build_ms": out["build"], "frame_ms": out["times"],
                                     "median_ms": statistics.median(out["times"])})
                    assert not v.errors, v.errors
                    v.page.close()
                browser.close()
        finally:
            srv.stop()
    print(f"\n{'renderer':8} {'mode':7} {'cells':>10} {'volume build':>13} {'frame (median)':>15}  frames")
    for r in rows:
        build = f"{r['build_ms']:.0f} ms" if r["build_ms"] is not None else "–"
        print(f"{r['renderer']:8} {r['mode']:7} {r['cells']:>10,} {build:>13} {r['median_ms']:>12.0f} ms  "
              + ", ".join(f"{t:.0f}" for t in r["frame_ms"]))
    out = HERE / "results" / f"smoke_{args.cells}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows}, indent=1))
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
