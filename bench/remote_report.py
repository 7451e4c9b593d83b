"""The remote-store section of docs/benchmarks.md, from bench/results/remote_*.json
(written by remote_bench.py, its own runs).

``python bench/remote_report.py`` replaces the section in docs/benchmarks.md in place (or
appends it); ``report.py`` includes it when it rewrites the whole file.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TITLE = "## Data in object storage (`bench/remote_bench.py`)"


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def remote_section(results_dir: Path = ROOT / "bench" / "results") -> list[str]:
    runs = sorted((json.loads(p.read_text()) for p in results_dir.glob("remote_*.json")), key=lambda r: r["n_cells"])
    if not runs:
        return []
    L = [TITLE, "",
         "The same dataset served by the real server from the `.h5ad`, from the store written by "
         "`cellucid prepare IN OUT.zarr --format zarr` on local disk, and from that store behind a static "
         "HTTP server with byte ranges (`tests/remote/http_store.py`) — first with no added latency, then "
         f"with a fixed **{runs[-1]['delay_ms']:g} ms delay injected before every request** (a stand-in for "
         "object storage). *ready*: constructor → listening (opening reads the store's metadata); *first "
         "frame*: the viewer's first three requests (default embedding, default field's codes and legend, "
         "including the start-up warm-up they wait for); *gene*: distinct genes in distinct shards, each "
         "read for the first time (cold), through `/_cellucid/api/gene`. Requests and bytes are those the "
         "HTTP store answered. The `.h5ad` genes are CSR scans (gene index off in this script). "
         "Shared 2-core machine (its load average is given per run): each figure is one run, and times moved "
         "by 2–5× between runs here; the request and byte counts are exact and did not move. "
         "Run with `python bench/remote_bench.py N_CELLS`.", ""]
    for r in runs:
        L += [f"**{r['n_cells']:,} cells** × 2,000 genes (`{r['source']}`, {_mb(r['h5ad_bytes'])}; prepared store "
              f"{_mb(r['zarr_bytes'])}, {r['shard_genes']} genes per shard"
              + (f", written in {r['prepare_s']} s" if r.get("prepare_s") else "") + ")"
              + (f"; load average {r['load_average_1min_after']} on 2 cores at the end of the run"
                 if r.get("load_average_1min_after") is not None else ""), "",
              "| source | ready | first frame requests | start → first frame | store requests / bytes to first frame "
              "| gene first | gene median | gene max | store requests per gene | bytes per gene |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        for name, c in r["cases"].items():
            store = (f"{c['start_store_requests']} / {_mb(c['start_store_bytes'])}" if "start_store_requests" in c else "—")
            per_gene = (f"{min(c['gene_store_requests'])}–{max(c['gene_store_requests'])}"
                        if "gene_store_requests" in c else "—")
            nbytes = _mb(c["gene_store_bytes_median"]) if "gene_store_bytes_median" in c else "—"
            L.append(f"| {name} | {c['ready_s']:.2f} s | {c['first_frame_requests_s'] * 1000:.0f} ms | "
                     f"{c['start_to_first_frame_s']:.2f} s | {store} | {c['gene_first_ms']:.0f} ms | "
                     f"{c['gene_median_ms']:.0f} ms | {c['gene_max_ms']:.0f} ms | {per_gene} | {nbytes} |")
        L.append("")
    return L


def update_doc(doc: Path = ROOT / "docs" / "benchmarks.md") -> None:
    """Replace (or append) the section in ``doc``, leaving the rest as it is."""
    text = doc.read_text()
    lines = text.split("\n")
    new = remote_section()
    if TITLE in lines:
        i = lines.index(TITLE)
        j = next((k for k in range(i + 1, len(lines)) if lines[k].startswith("## ")), len(lines))
        lines[i:j] = new
    else:
        lines += [""] + new
    doc.write_text("\n".join(lines).rstrip("\n") + "\n")


if __name__ == "__main__":
    update_doc()
