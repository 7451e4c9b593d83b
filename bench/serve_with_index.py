"""``cellucid serve`` with the gene index hooked into backed sources — the benchmark's
stand-in for the few lines the data layer needs (see docs/benchmarks.md, "Gene index").

Usage: python serve_with_index.py serve PATH [cellucid serve options]
Prints "cellucid-bench: gene index ready" on stdout when the index can answer.
"""

import sys
import threading

import cellucid.data.store_source as store_source
from cellucid.data.gene_index import IndexedReader, index_for_reader

_open_store = store_source.open_store


def open_store(path, kind, options):
    source = _open_store(path, kind, options)
    # --- the hook ------------------------------------------------------------------
    reader = source.expression_reader()
    index = index_for_reader(reader, path, source.dataset_id(), source.summary().expression)
    if index is not None:
        source._reader = IndexedReader(reader, index)
    # -------------------------------------------------------------------------------
        threading.Thread(target=lambda: index.wait() and print("cellucid-bench: gene index ready", flush=True),
                         daemon=True).start()
    return source


store_source.open_store = open_store

from cellucid.cli import main  # noqa: E402

sys.argv = ["cellucid", *sys.argv[1:]]
main()
