"""Turn bench/results/latest.json into docs/benchmarks.md and the scaling plot."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
PLOT = ROOT / "docs" / "benchmarks-scaling.png"


def _ms(s):
    return "–" if s is None else (f"{s * 1e3:,.0f}" if s >= 0.1 else f"{s * 1e3:,.1f}" if s >= 0.001 else f"{s * 1e3:.2f}")


def _per_nnz(g) -> str:
    """Index bytes per stored entry, with its share of X's bytes (or of 8 bytes per entry)."""
    if not g or "index_bytes_per_nnz" not in g:
        return "–"
    text = f"{g['index_bytes_per_nnz']:.2f}"
    if "index_share_of_x" in g:
        return f"{text} ({g['index_share_of_x']:.0%})"
    extra = f", {g['build_s']:.2f} s, {_ms(g['column_p50_s'])} ms" if "column_p50_s" in g else ""
    return f"{text} ({g.get('index_share_of_x_8b', 0):.0%}){extra}"


def _s(s):
    return "–" if s is None else f"{s:,.2f}"


def _mb(b):
    return "–" if b is None else (f"{b / 1e6:,.1f} MB" if b >= 1e5 else f"{b / 1e3:,.0f} KB")


def _x(r):
    return "–" if r is None else f"×{r:,.1f}"


def _by(rows, tool, dataset):
    for r in rows:
        if r.get("tool") == tool and r.get("dataset") == dataset and "error" not in r:
            return r
    return None


def _ratio(a, b):
    return None if a in (None, 0) or b is None else b / a


def scaling(results) -> list[dict]:
    """Ratios 100k→1M cells (2k genes) and 2k→20k genes (100k cells), per tool and metric."""
    ds = results["datasets"]
    main = sorted([k for k, v in ds.items() if v["n_genes"] == results["settings"]["genes"]], key=lambda k: ds[k]["n_cells"])
    wide = [k for k, v in ds.items() if v["n_genes"] != results["settings"]["genes"]]
    pairs = []
    for a, b in zip(main, main[1:]):  # each step up (100k → 1M, 1M → 10M)
        pairs.append((f"cells {ds[a]['n_cells'] // 1000:,}k → {ds[b]['n_cells'] // 1000:,}k", a, b))
    if wide and main:
        base = min(main, key=lambda k: abs(ds[k]["n_cells"] - ds[wide[0]]["n_cells"]))
        pairs.append((f"genes {ds[base]['n_genes']:,} → {ds[wide[0]]['n_genes']:,}", base, wide[0]))
    out = []
    tools_ = list(dict.fromkeys(r["tool"] for r in results["http"]))
    for label, a, b in pairs:
        for t in tools_:
            ra, rb = _by(results["http"], t, a), _by(results["http"], t, b)
            if not ra or not rb:
                continue
            sa, sb = ra["summary"], rb["summary"]
            out.append({"change": label, "tool": t,
                        **{m: _ratio(sa.get(m), sb.get(m)) for m in
                           ("ready_s", "embedding_bytes", "first_frame_s", "gene_cold_s", "gene_warm_p50_s", "peak_rss_bytes")}})
        for t in dict.fromkeys(r["tool"] for r in results["browser"]):
            ra, rb = _by(results["browser"], t, a), _by(results["browser"], t, b)
            if ra and rb:
                out.append({"change": label, "tool": t + " (browser)",
                            **{m: _ratio(ra["summary"].get(m), rb["summary"].get(m)) for m in
                               ("first_frame_s", "gene_recolor_s", "bytes_before_first_frame")}})
    return out


def _inmem_overhead(mem) -> float | None:
    """Largest (serving peak RSS − RSS right after loading) / bytes of X over the runs.

    bench/inmem_server.py resets the peak-RSS counter after loading, so ``peak_rss_bytes``
    is the peak while serving (first frame, genes); runs from before that reset existed
    carry no ``rss_after_load_bytes`` and give ``None``.
    """
    shares = [(r["peak_rss_bytes"] - r["extra"]["rss_after_load_bytes"]) / r["extra"]["x_bytes"]
              for r in (mem or {}).get("runs", [])
              if r.get("extra", {}).get("rss_after_load_bytes") and r["extra"].get("x_bytes")]
    return max(shares) if shares else None


def _reference(results) -> tuple[list[str], str | None]:
    """(2k-gene datasets, the largest of them up to 1M cells): the original targets are for
    1M cells; larger datasets get their own section (report_tenm.py)."""
    ds = results["datasets"]
    main = [k for k, v in ds.items() if v["n_genes"] == results["settings"]["genes"]]
    upto = [k for k in main if ds[k]["n_cells"] <= 1_000_000] or main
    return main, (max(upto, key=lambda k: ds[k]["n_cells"]) if upto else None)


def targets(results) -> list[tuple[str, str, str, str]]:
    """(target, limit, measured, verdict) for cellucid at the largest 2k-gene dataset up to 1M cells."""
    ds = results["datasets"]
    main, big = _reference(results)
    if not main:
        return []
    n = ds[big]["n_cells"]
    h = _by(results["http"], "cellucid (h5ad)", big)
    mem = _by(results["http"], "cellucid (in-memory AnnData)", big)
    cx = _by(results["http"], "cellxgene 1.3.0", big)
    br = _by(results["browser"], "cellucid (h5ad)", big)
    gi = next((g for g in results["gene_index"] if g["dataset"] == big), None)
    rows = []

    def add(name, limit, value, fmt, ok):
        rows.append((name, limit, "not measured" if value is None else fmt(value),
                     "–" if value is None else ("met" if ok(value) else "**missed**")))

    s = h["summary"] if h else {}
    add("start → ready", "≤ 0.5 s", s.get("ready_s"), lambda v: f"{v:.2f} s", lambda v: v <= 0.5)
    eb = s.get("embedding_bytes")
    add("embedding bytes per cell", "≤ 4", eb / n if eb else None, lambda v: f"{v:.2f}", lambda v: v <= 4)
    add("embedding time (warm)", "≤ 20 ms", s.get("embedding_warm_s"), lambda v: f"{v * 1e3:.0f} ms", lambda v: v <= 0.02)
    add("one gene, warm p50 (gene index ready)", "≤ 20 ms", s.get("gene_warm_p50_s"), lambda v: f"{v * 1e3:.0f} ms", lambda v: v <= 0.02)
    add("one gene on the wire", "≤ 120 KB", s.get("gene_bytes"), lambda v: f"{v / 1e3:.0f} KB", lambda v: v <= 120e3)
    cxc = (cx or {}).get("summary", {}).get("gene_cold_s")
    runs = h["runs"] if h else []
    first = runs[0]["gene_cold_s"] if runs else None
    later = sorted(x["gene_cold_s"] for x in runs[1:])
    later = later[len(later) // 2] if later else None
    add("very first gene vs cellxgene, file never seen (index building)", "≤ 1/5", first / cxc if first and cxc else None,
        lambda v: f"{v:.2f}× ({first * 1e3:,.0f} vs {cxc * 1e3:,.0f} ms)", lambda v: v <= 0.2)
    no_index = _by(results["http"], "cellucid (h5ad, no gene index)", big)
    ni = (no_index or {}).get("summary", {}).get("gene_cold_s")
    gi = next((g for g in results.get("gene_index", []) if g.get("dataset") == big), {})
    floor = gi.get("scan_floor_s")
    mapping = gi.get("page_cache_map_s")
    floor_note = (f"; the floor of any read without an index — one compare over all "
                  f"{gi['indices_bytes'] / 1e6:,.0f} MB of X/indices already in memory, two threads — "
                  f"is {floor * 1e3:.0f} ms = {floor / cxc:.2f}×" if floor and cxc else "")
    if floor_note and mapping:
        floor_note += (f"; but a server reading the file finds those bytes in the OS page cache, not in its "
                       f"memory: only mapping them into its address space takes {mapping * 1e3:.0f} ms (best of one and two threads) "
                       f"= {mapping / cxc:.2f}×")
    add("very first gene vs cellxgene, before any index exists (fresh process, no index; median of starts)", "≤ 1/5",
        ni / cxc if ni and cxc else None,
        lambda v: f"{v:.2f}× ({ni * 1e3:,.0f} vs {cxc * 1e3:,.0f} ms){floor_note}", lambda v: v <= 0.2)
    add("very first gene vs cellxgene, later starts (index cached)", "≤ 1/5", later / cxc if later and cxc else None,
        lambda v: f"{v:.2f}× ({later * 1e3:,.0f} vs {cxc * 1e3:,.0f} ms)", lambda v: v <= 0.2)
    hd = (no_index or {}).get("summary", {}).get("health_during_gene") or {}
    add("health answered while a slow gene read (a scan, no index) is in flight, max", "≤ 50 ms",
        hd.get("health_s_max") if hd.get("probes_in_flight") else None,
        lambda v: f"{v * 1e3:.1f} ms", lambda v: v <= 0.05)
    add("peak server RSS (incl. the index build)", "≤ 300 MB", s.get("peak_rss_bytes"), lambda v: f"{v / 1e6:.0f} MB", lambda v: v <= 300e6)
    add("in-memory AnnData ready", "≤ 0.5 s", (mem or {}).get("summary", {}).get("ready_s"), lambda v: f"{v:.2f} s", lambda v: v <= 0.5)
    add("in-memory AnnData: serving memory over the loaded AnnData, share of X", "≤ 10 %", _inmem_overhead(mem),
        lambda v: f"{v * 100:.1f} %", lambda v: v <= 0.10)
    b = br["summary"] if br else {}
    add("browser first frame", "≤ 1.5 s", b.get("first_frame_s"), lambda v: f"{v:.2f} s", lambda v: v <= 1.5)
    add("browser gene recolor", "≤ 0.5 s", b.get("gene_recolor_s"), lambda v: f"{v:.2f} s", lambda v: v <= 0.5)
    small = min(main, key=lambda k: ds[k]["n_cells"])
    bs = (_by(results["browser"], "cellucid (h5ad)", small) or {}).get("summary", {})
    if small != big:
        add(f"browser first frame at {ds[small]['n_cells'] // 1000}k cells", "≤ 0.5 s", bs.get("first_frame_s"),
            lambda v: f"{v:.2f} s", lambda v: v <= 0.5)
    add("bytes before first frame", "≤ 6 MB", b.get("bytes_before_first_frame"), lambda v: f"{v / 1e6:.1f} MB", lambda v: v <= 6e6)
    if gi:
        add("one gene through the gene index (p50, in-process)", "≤ 20 ms", gi["column_p50_s"], lambda v: f"{v * 1e3:.2f} ms", lambda v: v <= 0.02)
    return [(name if " cells" in name else f"{name} ({n // 1000}k cells)", *rest) for name, *rest in rows]


def plot(results, path: Path = PLOT) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = results["datasets"]
    g = results["settings"]["genes"]
    main = sorted([k for k, v in ds.items() if v["n_genes"] == g], key=lambda k: ds[k]["n_cells"])
    if not main:
        return None
    panels = [
        ("http", "ready_s", "start → ready (s)", 1),
        ("http", "gene_warm_p50_s", "one gene, warm p50 (ms)", 1e3),
        ("http", "gene_cold_s", "first gene, cold (ms)", 1e3),
        ("http", "peak_rss_bytes", "peak server RSS (MB)", 1e-6),
        ("browser", "first_frame_s", "browser: first frame (s)", 1),
        ("browser", "gene_recolor_s", "browser: gene recolor (s)", 1),
    ]
    # One color per tool across all panels.
    names = list(dict.fromkeys(r["tool"] for k in ("http", "browser") for r in results[k]))
    color = {t: plt.cm.tab10(i % 10) for i, t in enumerate(names)}
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    for ax, (kind, metric, title, scale) in zip(axes.ravel(), panels):
        for t in dict.fromkeys(r["tool"] for r in results[kind]):
            xs, ys = [], []
            for k in main:
                r = _by(results[kind], t, k)
                v = r and r["summary"].get(metric)
                if v:
                    xs.append(ds[k]["n_cells"])
                    ys.append(v * scale)
            if xs:
                ax.plot(xs, ys, marker="o", label=t, color=color[t])
        if metric == "gene_warm_p50_s":
            gi = [(x["n_cells"], x["column_p50_s"] * 1e3) for x in results["gene_index"] if x["n_genes"] == g]
            if gi:
                gi.sort()
                ax.plot(*zip(*gi), marker="s", linestyle="--", color="black", label="gene index (in-process)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("cells")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"cellucid vs cellxgene 1.3.0 vs cellucid 0.9.5 — {g:,} genes, CSR .h5ad ({results['date']})", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def findings(results) -> list[str]:
    """A few sentences computed from the figures (largest 2k-gene dataset up to 1M cells)."""
    ds = results["datasets"]
    main, big = _reference(results)
    if not main:
        return []
    n = f"{ds[big]['n_cells'] // 1000:,}k cells"
    get = lambda kind, tool: (_by(results[kind], tool, big) or {}).get("summary", {})  # noqa: E731
    ci, c, cx = get("http", "cellucid (h5ad)"), get("http", "cellucid (h5ad, no gene index)"), get("http", "cellxgene 1.3.0")
    ce, c95 = get("http", "cellucid (export)"), get("http", "cellucid 0.9.5 (range replay)")
    out = []
    imp = results.get("import_s", {})
    if ci.get("ready_s") and imp.get("anndata"):
        out.append(f"Start → ready of the backed .h5ad server is {ci['ready_s']:.2f} s at {n} (export folder: "
                   f"{_s(ce.get('ready_s'))} s; cellxgene {_s(cx.get('ready_s'))} s). Importing anndata alone took "
                   f"{imp['anndata']:.2f} s in a fresh interpreter during this run; cellucid's start path reads the "
                   "file with h5py directly and imports neither anndata, pandas nor scipy.")
    if c.get("gene_warm_p50_s") and ci.get("gene_warm_p50_s"):
        out.append(f"One gene from backed CSR at {n}: {_ms(c['gene_warm_p50_s'])} ms warm p50 by scanning, "
                   f"{_ms(ci['gene_warm_p50_s'])} ms with the gene index (×{c['gene_warm_p50_s'] / ci['gene_warm_p50_s']:,.0f} faster); "
                   f"cellxgene {_ms(cx.get('gene_warm_p50_s'))} ms, cellucid 0.9.5 ≥ {_ms(c95.get('gene_warm_p50_s'))} ms "
                   f"and {_mb(c95.get('gene_bytes'))} per gene.")
    gi = next((g for g in results["gene_index"] if g["dataset"] == big), None)
    if gi:
        out.append(f"The gene index for {n} builds once in {gi['build_s']:.1f} s in the background "
                   f"(+{(gi['rss_peak_bytes'] - gi.get('rss_before_build_bytes', 0)) / 1e6:.0f} MB while building, "
                   f"{_mb(gi['index_bytes'])} on disk in the user cache"
                   + (f", {gi['index_bytes_per_nnz']:.2f} bytes per non-zero, {gi['index_share_of_x']:.0%} of X's bytes"
                      if "index_share_of_x" in gi else "")
                   + f"); reopening it takes {_ms(gi['reopen_s'])} ms.")
    bc, bx = get("browser", "cellucid (h5ad)"), get("browser", "cellxgene 1.3.0")
    if bc.get("first_frame_s") and bx.get("first_frame_s"):
        out.append(f"In the browser at {n}: first frame {bc['first_frame_s']:.2f} s (cellxgene {bx['first_frame_s']:.2f} s), "
                   f"{_mb(bc['bytes_before_first_frame'])} before it (cellxgene {_mb(bx['bytes_before_first_frame'])}); "
                   f"gene recolor {_s(bc.get('gene_recolor_s'))} s (cellxgene {_s(bx.get('gene_recolor_s'))} s).")
    if bc.get("pan_frame_ms"):
        out.append(f"Panning {n} on the CPU renderer: a frame every {bc['pan_frame_ms']:.0f} ms with motion frames, "
                   f"{bc['pan_full_frame_ms']:.0f} ms with every frame in full.")
    if results.get("notebook"):
        nj = get("notebook", "jupyter-scatter (JupyterLab)")
        for way in ("over HTTP", "over the comm"):
            nc = get("notebook", f"cellucid {way} (in-memory AnnData, JupyterLab)")
            if not nc.get("run_cell_to_first_frame_s"):
                continue
            peer = lambda k, f: f" (jupyter-scatter {f(nj[k])})" if nj.get(k) else ""  # noqa: E731
            out.append(f"In a JupyterLab notebook at {n}, cellucid {way}: run cell → first frame "
                       f"{nc['run_cell_to_first_frame_s']:.2f} s" + peer("run_cell_to_first_frame_s", lambda v: f"{v:.2f} s")
                       + f"; a lasso of half the cells reaches the Python callback in {_ms(nc['lasso_to_python_s'])} ms"
                       + peer("lasso_to_python_s", lambda v: f"{_ms(v)} ms")
                       + (f"; gene recolour {_ms(nc['gene_recolour_s'])} ms; `highlight_cells` of half the cells "
                          f"drawn {_ms(nc['highlight_half_s'])} ms after the call" if nc.get("gene_recolour_s") else "")
                       + ".")
    return out


def markdown(results) -> str:
    m, v = results["machine"], results["versions"]
    ds = results["datasets"]
    L = ["# Benchmarks", "",
         "Generated by `python bench/run.py` (the command below) — do not edit by hand; rerun it.", "",
         f"- **Date:** {results['date']}; command `{results['command']}`; wall time {results.get('wall_s', 0) / 60:.0f} min"
         + (("; merged with earlier runs whose figures this one did not repeat: "
             + "; ".join(f"{m}" for m in results["merged_from"])) if results.get("merged_from") else ""),
         f"- **Machine:** {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}, Python {m['python']}; "
         f"load average at start {', '.join(f'{x:.1f}' for x in m['load_avg_at_start'])} (the machine was shared)",
         "- **Versions:** " + ", ".join(f"{k} {val}" for k, val in v.items()),
         *([("- **Import time in a fresh interpreter** (a floor under start → ready): "
              + ", ".join(f"`{k}` {val:.2f} s" for k, val in results["import_s"].items() if val is not None))]
           if results.get("import_s") else []),
         f"- **Method:** {results['settings']['repeats']} server starts / page loads (each in a new browser context, after one warm-up page per browser) per figure, medians; warm-gene "
         f"p50/p95 over {results['settings']['warm_genes']} random genes; warm OS page cache (every file of a "
         "dataset is read once before its first measurement); all servers on 127.0.0.1. See [bench/README.md](../bench/README.md) for what each figure measures.",
         *[f"- **Note:** {n}" for n in results.get("notes", [])],
         "- **History:** figures measured while the code changed (each against the code it replaced) are in "
         "[benchmark-history.md](benchmark-history.md), not in the code's comments.",
         "", "## Datasets", "",
         _table(["name", "cells", "genes", "X", ".h5ad size", "also"],
                [(k, f"{d['n_cells']:,}", f"{d['n_genes']:,}", f"CSR float32, {d.get('density', 0.07):.0%} nonzero", _mb(d["h5ad_bytes"]),
                  ", ".join(x for x in ("zarr", "export") if d.get(x)) or "–") for k, d in ds.items()]),
         ""]
    f = findings(results)
    if f:
        L += ["## Findings", ""] + [f"- {x}" for x in f] + [""]
    t = targets(results)
    if t:
        L += ["## Targets (cellucid, backed CSR .h5ad)", "", _table(["target", "limit", "measured", ""], t), ""]
    L += ["## Servers (HTTP, scripted client)", "",
          "First-frame data = embedding (2D) + what coloring by `cell_type` needs (cellucid: identity, codes, "
          "metadata; cellxgene: schema + annotation — it colors nothing by default; 0.9.5: the byte ranges). "
          "Bytes are the body on the wire (compressed when the server compresses).", ""]
    rows = []
    for r in results["http"]:
        if "error" in r:
            rows.append((r["tool"], r["dataset"], f"**failed:** {r['error'][:120]}", *[""] * 9))
            continue
        s = r["summary"]
        hd = s["health_during_gene"]
        health = (f"{_ms(hd['health_s_max'])} ms" + ("" if hd["probes_in_flight"] else " (gene done first)"))
        rows.append((r["tool"], r["dataset"], _s(s["ready_s"]), f"{s['peak_rss_bytes'] / 1e6:,.0f}",
                     f"{_ms(s['embedding_s'])} / {_ms(s['embedding_warm_s'])}",
                     f"{_mb(s['embedding_bytes'])} ({s['embedding_bytes'] / r['n_cells']:.1f} B/cell)",
                     f"{_ms(s['first_frame_s'])} / {_mb(s['first_frame_bytes'])}",
                     _ms(s["gene_cold_s"]), f"{_ms(s['gene_warm_p50_s'])} / {_ms(s['gene_warm_p95_s'])}",
                     _mb(s["gene_bytes"]), health))
    L += [_table(["tool", "dataset", "ready s", "peak RSS MB", "embedding ms cold / warm", "embedding bytes",
                  "first-frame data ms / bytes", "gene cold ms", "gene warm p50 / p95 ms", "gene bytes",
                  "health during gene read (max)"], rows), ""]
    L += ["cellucid 0.9.5 serves file bytes only; its figures replay the HTTP Range requests its in-browser "
          "reader needs (planned with h5py) and are **lower bounds** (no HDF5 metadata reads, no decoding). "
          "For a CSR matrix every gene needs all of `X/indptr`, `X/indices` and `X/data`.", ""]
    if results["browser"]:
        rows = []
        for r in results["browser"]:
            if "error" in r:
                rows.append((r["tool"], r["dataset"], f"**failed:** {r['error'][:160]}", "", "", "", "", ""))
                continue
            s = r["summary"]
            lasso = (f"{s['lasso_count']:,.0f} cells ({s['lasso_fraction']:.0%}) in {_ms(s['lasso_s'])} ms"
                     if "lasso_count" in s else f"failed: {s['lasso_error'][:100]}" if "lasso_error" in s else "–")
            pan = (f"{_ms(s['pan_frame_ms'] / 1e3)} / {_ms(s['pan_full_frame_ms'] / 1e3)} ms ({s['pan_points']:,.0f} / {s['pan_full_points']:,.0f} cells)"
                   if "pan_frame_ms" in s else f"failed: {s['pan_error'][:100]}" if "pan_error" in s else "–")
            rows.append((r["tool"], r["dataset"], _s(s["first_frame_s"]), _s(s["colored_frame_s"]),
                         _s(s["gene_recolor_s"]), _mb(s["bytes_before_first_frame"]), lasso, pan))
        L += ["## Viewers (headless Chromium, SwiftShader software WebGL, 1280×800)", "",
              "Times from navigation start, each on a freshly started server and a fresh browser context (one warm-up page per browser before them); cellucid's gene index is built before the first of them (as a server up for a while has it: the http part waits for it, a browser-only run builds it first). "
              "First frame = the animation frame after the first draw of ≥ ¼ of the cells (a WebGL draw call; for cellucid's CPU renderer, which this software-GL browser gets, its `cellucid:draw` frame mark); colored frame = "
              "cellucid's first frame colored by the default field (the frame of the latest draw before it sets `body[data-ready=1]`, which it does once that frame is drawn and its panels are built); recolor = cellucid: "
              "`setColorBy(gene)` → next drawn frame; cellxgene: click on the gene suggestion → first frame drawn "
              "after its data arrived and its color button was clicked. Lasso: a rectangle from the canvas' left "
              "edge to the median projected x, pointer-up → selection event. Pan (cellucid): the median interval "
              "between frames while the view is dragged in a small circle for 1.5 s (a real mouse press, "
              "then a pointer move at every animation frame), first with the default motion frames (for more than 375k "
              "cells whose full frames take over 30 ms, the CPU renderer draws a fixed sample of 250k cells while the "
              "camera moves, then the full frame), then on the same page from the same view with every frame in full "
              "(`?motion_points=0`).", "",
              _table(["tool", "dataset", "first frame s", "colored frame s", "gene recolor s", "bytes before first frame",
                      "lasso ≈ half", "pan frame interval: motion frames / full"], rows), ""]
    tl = [r for r in results["browser"] if "error" not in r and r["tool"].startswith("cellucid") and r["runs"]]
    if tl:
        r = max(tl, key=lambda r: r["n_cells"])
        run = r["runs"][0]
        L += [f"Where the time goes, cellucid, {r['dataset']}, first load (ms from navigation start; "
              f"DOMContentLoaded {run.get('dom_content_loaded_ms', 0):,.0f}, first frame {run['first_frame_s'] * 1e3:,.0f}, "
              f"colored frame {(run['colored_frame_s'] or 0) * 1e3:,.0f}):", "",
              _table(["request", "start", "end", "bytes"],
                     [(f"`{n}`", f"{a:,}", f"{b:,}", f"{t:,}") for n, a, b, t in run.get("timeline_ms", [])]), ""]
    if results.get("notebook"):
        rows = []
        for r in results["notebook"]:
            if "error" in r:
                rows.append((r["tool"], r["dataset"], f"**failed:** {r['error'][:160]}", "", "", "", ""))
                continue
            s = r["summary"]
            rows.append((r["tool"], r["dataset"], _s(s["run_cell_to_first_frame_s"]),
                         _ms(s["lasso_to_python_s"]), f"{s['lasso_count']:,.0f} ({s['lasso_fraction']:.0%})",
                         _ms(s.get("gene_recolour_s")) if s.get("gene_recolour_s") else "–",
                         _ms(s.get("highlight_half_s")) if s.get("highlight_half_s") else "–"))
        L += ["## In a notebook (JupyterLab in headless Chromium)", "",
              "Each notebook reads the .h5ad into memory (`anndata.read_h5ad`); cellucid runs "
              "`viewer = cellucid.show_anndata(adata)` with a `viewer.on_selection` callback, jupyter-scatter "
              "`jscatter.Scatter(data=df, x, y, color_by='cell_type')` on `X_umap` with an observer on its widget's "
              "`selection` (its own venv's kernel). Run cell → first frame: from the cell's first line "
              "(`time.time()` in the kernel) to the first frame with all points, found as in the browser table (the "
              "animation frame after the first draw of ≥ ¼ of the cells, in whichever frame of the page draws them), "
              "as wall-clock time. Lasso → Python: a "
              "rectangle over about half the cells dragged with the mouse, from just before the release to the "
              "callback's `time.time()` in the kernel; median of the lassos (cellucid's selection is cleared between "
              "lassos, jupyter-scatter's alternates between the left and right half: an unchanged selection syncs "
              "nothing). cellucid runs twice: `transport='http'` (the page reads the data server's port) and "
              "`transport='comm'` (every request travels over the widget's comm and is answered in the kernel). "
              "Gene recolour: `setColorBy` of a gene not shown before → the first frame in its colours, median of "
              "three genes. Highlight: a cell runs `viewer.highlight_cells(np.arange(0, n, 2))`, from its first line "
              "(`time.time()`) to the first frame drawn with those cells highlighted. Every figure is the median of "
              "the run's rounds (`--notebook-rounds`, default 3): each round measures every widget once, in turn, "
              "so that a burst of load on the machine falls on all of them alike.", "",
              _table(["tool", "dataset", "run cell → first frame s", "lasso → Python callback ms",
                      "cells selected", "gene recolour ms", "highlight half → drawn ms"], rows), ""]
    if results["gene_index"]:
        rows = []
        for g in results["gene_index"]:
            w = g.get("wire_estimates_median", {})
            build = _s(g["build_s"])
            if "build_cpu_s" in g:  # wall time depends on what else runs; CPU time much less
                build += f" ({_s(g['build_cpu_s'])} CPU; load average {g['load_average']:.1f})"
            rows.append((g["dataset"], build, _ms(g["open_or_build_return_s"]), _ms(g["reopen_s"]),
                         f"{_ms(g['column_p50_s'])} / {_ms(g['column_p95_s'])}", _mb(g["column_read_bytes_median"]),
                         _s(min(g["plain_backed_s"])), _mb(g["index_bytes"]), _per_nnz(g),
                         _per_nnz(g.get("lognorm")),
                         f"+{(g['rss_peak_bytes'] - g.get('rss_before_build_bytes', 0)) / 1e6:,.0f}",
                         " / ".join(_mb(w.get(k)) for k in ("dense_f32_gzip6", "sparse_u32_f32_gzip6", "sparse_delta_gzip6")) if w else "–",
                         "yes" if g["matches_plain_read"] else "**NO**"))
        L += ["## Gene index (`cellucid.data.gene_reading.gene_index`, measured in-process)", "",
              "Reading one gene from a backed CSR matrix scans all of `X/indices`. The gene index is a gene-major "
              "copy built once in a background thread (bounded memory, row chunks) into the user cache dir; after "
              "that one gene is one contiguous read. Plain read = anndata's backed `X[:, j]`. Each gene's rows "
              "are kept as 16-bit offsets in blocks of 65,536 cells and its values in the smallest dtype that "
              "holds them exactly (uint8/uint16 for counts, float16 when exact, else float32); the demo data "
              "are integer counts. The log-normalised case is the first 100k cells of the same file as "
              "log1p(counts per 10k) in float32, built in memory.", "",
              _table(["dataset", "build s (once)", "open_or_build returns ms", "reopen ms",
                      "one gene p50 / p95 ms", "read per gene", "plain backed read s", "index size",
                      "index bytes per non-zero (share of X on disk)",
                      "log-normalised floats: bytes per non-zero (share of 8), build s, one gene p50 ms",
                      "build peak RSS over baseline MB",
                      "one gene gzipped: dense f32 / sparse u32+f32 / sparse delta+f32", "same values"], rows), "",
              "In the server table, `cellucid (h5ad)` is the product as shipped: its first start on a file builds "
              "the index in the background (that start's first gene comes before it is ready), later starts "
              "reuse it; warm genes are measured once health reports it ready. `cellucid (h5ad, no gene index)` "
              "runs with `CELLUCID_GENE_INDEX=0`: every gene is a scan of the CSR matrix.",
              ""]
    try:
        from report_tenm import section as tenm_section
    except ImportError:
        from bench.report_tenm import section as tenm_section
    L += tenm_section(results)
    sc = scaling(results)
    if sc:
        metrics = ["ready_s", "embedding_bytes", "first_frame_s", "gene_cold_s", "gene_warm_p50_s", "peak_rss_bytes",
                   "gene_recolor_s", "bytes_before_first_frame"]
        rows = [(r["change"], r["tool"], *[_x(r.get(k)) for k in metrics]) for r in sc]
        L += ["## Scaling ratios", "", "Value at the larger dataset ÷ value at the smaller one (×10 data → ideal "
              "×1 for ready, ×10 at most for per-cell work).", "",
              _table(["change", "tool", "ready", "embedding bytes", "first frame / first-frame data", "gene cold",
                      "gene warm p50", "peak RSS", "recolor", "bytes before first frame"], rows), ""]
    if PLOT.exists():
        L += ["## Scaling plot", "", f"![scaling]({PLOT.name})", ""]
    if results["errors"]:
        L += ["## Problems during this run", ""] + [f"- {e['where']}: `{e['error'].strip().splitlines()[-1][:300]}`"
                                                    for e in results["errors"]] + [""]
    if results.get("retries"):
        L += ["## Measurements retried", "", "Each failed once and was measured again (bench/retry.py); the figures "
              "above are the second attempt's.", ""] + [f"- {r['where']}: first attempt `{r['first_error'][:300]}`"
                                                         for r in results["retries"]] + [""]
    L += formats_section()
    try:  # the analysis benchmark writes its own JSON (bench/analysis_bench.py)
        from analysis_bench import section
    except ImportError:
        from bench.analysis_bench import section
    L += section()
    try:  # the four-views panning figures (bench/views_bench.py, its own JSON)
        from views_bench import section as views_section
    except ImportError:
        from bench.views_bench import section as views_section
    L += views_section()
    try:  # the remote-store benchmark writes its own JSON too (bench/remote_bench.py)
        from remote_report import remote_section
    except ImportError:
        from bench.remote_report import remote_section
    L += remote_section()
    try:  # analysis on a Dask LocalCluster (bench/dask_bench.py, its own JSON)
        from dask_bench import section as dask_section
    except ImportError:
        from bench.dask_bench import section as dask_section
    L += dask_section()
    L += ["## Reproduce", "", "```", "pip install -e '.[bench]'   # matplotlib, psutil, playwright",
          "python bench/run.py --cells 100000 1000000", "```", ""]
    return "\n".join(L)


def formats_section(results_dir: Path = ROOT / "bench" / "results") -> list[str]:
    """The input-format figures of bench/formats_bench.py (its own JSON files, its own runs)."""
    runs = sorted((json.loads(p.read_text()) for p in results_dir.glob("formats_*.json")), key=lambda r: r["n_cells"])
    embeds = sorted((json.loads(p.read_text()) for p in results_dir.glob("embed_*.json")), key=lambda r: r["n_cells"])
    if not runs and not embeds:
        return []
    L = ["## Input formats (`bench/formats_bench.py`)", "",
         "The same demo data as `.h5ad` (anndata, CSR, uncompressed), `.loom` (loompy: genes × cells, dense, "
         "gzip chunks of 64 × 64) and `.h5mu` (mudata: the AnnData as modality `rna`). One gene through "
         "`open_source(path).gene_by_index(j)`, 12 genes × 3 passes with the formats interleaved, page cache warm, the gene index off (each format's "
         "own read path: a CSR scan for `.h5ad` and `.h5mu`, one row band of chunks for Loom), then with the "
         "gene index `serve` builds in the background for a large CSR matrix, once ready. Measured on the "
         "shared 2-core machine; run with `python bench/formats_bench.py N_CELLS`.", ""]
    rows = [(f"{r['n_cells']:,}", kind, f"{f['size_mb']:,.0f} MB", f"{f['open_s'] * 1e3:,.0f} ms",
             f"{f['first_read_ms']:,.0f} ms", f"{f['median_ms']:,.1f} ms", f"{f.get('p90_ms', f['max_ms']):,.1f} ms",
             f"{f['indexed_median_ms']:,.2f} ms" if "indexed_median_ms" in f else "–")
            for r in runs for kind, f in r["formats"].items()]
    if rows:
        L += [_table(["cells", "format", "file", "open", "first gene", "gene p50", "gene p90",
                      "gene p50 with the gene index"], rows), ""]
    for e in embeds:
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in e["step_seconds"].items())
        L += [f"`cellucid prepare {e['input']} OUT --embed` ({e['n_cells']:,} cells × {e['n_genes']:,} genes, "
              f"Cell Ranger v3 .h5): {e['prepare_embed_s']:.0f} s in all, of which the embedding "
              f"{e['embed_s']:.0f} s ({steps}); {e['n_clusters']} Leiden clusters"
              + (f"; load average {e['load_avg'][0]} → {e['load_avg'][1]} (shared machine)" if e.get("load_avg") else "")
              + " "
              "(`python bench/formats_bench.py embed N_CELLS`).", ""]
    return L


def write(results) -> None:
    try:
        plot(results)
    except Exception as exc:  # the table still gets written
        print(f"plot failed: {exc}")
    DOC.write_text(markdown(results))
