"""What every handler shares: the source, its identity, caches and the read executor."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, Callable

from cellucid._version import __version__
from cellucid.data.base import DataSource
from cellucid.server.cache import ByteLRU
from cellucid.server.identity import build_identity
from cellucid.server.settings import ServerSettings
from cellucid.server.warm import first_frame_keys, warm_cache_keys, warm_first_frame
from cellucid.server.watch import DataChanged, FileWatch

# Background analysis preparation starts after this long without data requests (or after
# QUIET_WAIT_MAX_S, so a client polling data without pause cannot hold it back forever).
QUIET_S = 1.0
QUIET_WAIT_MAX_S = 10.0
# Once it runs, a data request pauses it at its next step until the next quiet moment, but
# it keeps this share of the time: each second of work earns (1 - share) / share seconds of
# pause, at most QUIET_WAIT_MAX_S banked (the same rule as the gene index build's).
PREPARE_SHARE = 0.5


class ServerState:
    """Built once per app. ``identity`` is computed up front: it is what the viewer asks
    for first, it validates the source, and health must never touch a (possibly busy) file."""

    def __init__(self, source: DataSource, settings: ServerSettings):
        self.source = source
        self.settings = settings
        self.identity: dict = build_identity(source)
        self.dataset_id: str = self.identity["id"]
        self.annotations = _annotation_service(settings.annotations, source, self.identity)
        self.health: dict = {
            "status": "ok",
            "version": __version__,
            "dataset_name": self.identity["name"],
            "dataset_id": self.dataset_id,
            "n_cells": self.identity["stats"]["n_cells"],
            "n_genes": self.identity["stats"]["n_genes"],
            "source_kind": self.identity["source_kind"],
        }
        # Fingerprint of the files a backed source reads: data routes refuse once they change.
        self.watch = FileWatch(source.watched_paths())
        self.responses = ByteLRU(settings.cache_bytes)
        # Decoded obs fields: /obs, /obs/meta and /cells all need them.
        self.fields = ByteLRU(max(settings.cache_bytes // 2, 1 << 20))
        # Whole per-cell bodies (embedding, obs column) that cell ranges (?start=&stop=&step=,
        # progressive loading) are cut from. Its own cache with a larger bound: at 10M cells a
        # 2D embedding is 40 MB, more than the response cache keeps per item (a quarter).
        self.whole = ByteLRU(2 * settings.cache_bytes)
        self._owns_executor = settings.executor is None
        self.executor: Executor = settings.executor or ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="cellucid-read"
        )
        # Compression is short CPU work on bytes already read: its own small pool, so a
        # finished read is never queued behind every slow read waiting for a worker.
        self.compress_executor: Executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cellucid-gzip")
        # Analysis (differential expression, markers) takes seconds at a million cells: one
        # thread of its own, so it never holds the read workers the viewer's requests need.
        self.analysis_executor: Executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cellucid-analysis")
        self._inflight: dict[Any, asyncio.Future] = {}
        # k-NN in the latent space or the stored graph (/neighbors); read on first use
        from cellucid.data.neighbors import neighbor_space

        self.neighbors = neighbor_space(source)

        # What every viewer asks for first is encoded now (server/warm.py), while no browser
        # is competing for the CPU.
        self._warm_responses, self._warm_fields = warm_cache_keys(self.identity)
        self._warming = self.executor.submit(warm_first_frame, self)
        # The gene-name lookup (5–8 ms for 2k genes, more for 20k) is built now, in the
        # background, rather than on the first gene the user asks for by name.
        self.executor.submit(_build_gene_lookup, source)
        self.last_request = time.monotonic()  # see wait_until_quiet
        # A gene index being built (backed CSR) waits between its steps while a viewer loads.
        index = _index_of(source) if self.health["n_genes"] else None
        if index is not None and not index.ready:
            index.yield_while = self.viewer_loading
        # Totals and rank tables for analysis requests, once the first frame is out (and the
        # gene index, if one is being built, is ready): later requests only look them up.
        from cellucid.analysis import prepare as analysis_prep

        # With --dask / dask_client: the analysis passes over all cells run on that cluster
        # (connected in the background; health says how it goes).
        self.cluster = _attach_cluster(settings.dask, source, self.health["n_genes"])
        if analysis_prep.enabled() and self.health["n_genes"] and not source.reads_are_remote:
            analysis_prep.mark_waiting(source)
            # Its own thread, not the analysis executor: a request must not queue behind it.
            threading.Thread(target=_prepare_analysis,
                             args=(self._warming, source, first_frame_keys(self.identity)["field"], self.cluster,
                                   self.wait_until_quiet, StepPause(self)),
                             name="cellucid-analysis-prepare", daemon=True).start()

    def note_request(self) -> None:
        """A viewer (or script) asked for data: background work waits for a quiet moment."""
        self.last_request = time.monotonic()

    def viewer_loading(self, quiet_s: float = QUIET_S) -> bool:
        """True while a data request came in the last ``quiet_s`` seconds (a page loading)."""
        return time.monotonic() - self.last_request < quiet_s

    def wait_until_quiet(self, quiet_s: float = QUIET_S, longest_s: float = QUIET_WAIT_MAX_S) -> None:
        """Return once no data request came for ``quiet_s`` (at most ``longest_s`` from now).

        The analysis preparation is seconds of CPU over the whole matrix; started while a page
        loads its first frame it doubled that frame's time at 1M cells on 2 cores (0.3 s →
        0.6 s). Health polls do not count (they are what waiting clients send)."""
        deadline = time.monotonic() + longest_s
        while True:
            now = time.monotonic()
            idle = now - self.last_request
            if idle >= quiet_s or now >= deadline:
                return
            time.sleep(min(quiet_s - idle, deadline - now))

    def etag(self, path: str, params: list[tuple[str, str]]) -> str:
        """Weak ETag from the dataset id and the (normalized) request."""
        h = hashlib.sha1(self.dataset_id.encode())
        h.update(path.encode())
        for k, v in sorted(params):
            h.update(f"\0{k}={v}".encode())
        return f'W/"{h.hexdigest()[:24]}"'

    async def run(self, key: Any, fn: Callable[[], Any], executor: Executor | None = None) -> Any:
        """Run ``fn`` on the read executor; identical concurrent requests share one run.

        The data files are checked before and after (``watch``): a read from a file that
        changed meanwhile raises :class:`DataChanged` instead of returning what it read
        (possibly zeros) or a library error, and its result is never cached."""
        self.check_files()
        existing = self._inflight.get(key)
        if existing is not None:
            return await asyncio.shield(existing)
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(executor or self.executor, fn)
        self._inflight[key] = fut
        try:
            result = await fut
        except Exception:
            self.check_files()  # a failure caused by the file changing says so
            raise
        finally:
            self._inflight.pop(key, None)
        self.check_files()
        return result

    def check_files(self) -> None:
        """Raise :class:`~cellucid.server.watch.DataChanged` once the data files changed
        (a few ``stat`` calls, never a read), and then drop every cached answer and decoded
        field: they came from the file as it was, so no route may send them again."""
        try:
            self.watch.check()
        except DataChanged:
            self.responses.clear()
            self.fields.clear()
            self.whole.clear()
            raise

    async def wait_for_warm_up(self, response_key: Any = None, field: str | None = None) -> None:
        """If the start-up warm-up (server/warm.py) is still making this response or field,
        wait for it instead of making it a second time."""
        warming = self._warming
        if warming.done() or (response_key not in self._warm_responses and field not in self._warm_fields):
            return
        await asyncio.shield(asyncio.wrap_future(warming))

    def remember_field(self, name: str, data) -> None:
        """Keep a decoded obs field (shared by /obs, /obs/meta and /cells)."""
        nbytes = sum(a.nbytes for a in (data.codes, data.values) if a is not None)
        self.fields.put(name, data, nbytes)

    def close(self) -> None:
        if self._owns_executor:
            self.executor.shutdown(wait=False, cancel_futures=True)
        self.compress_executor.shutdown(wait=False, cancel_futures=True)
        self.analysis_executor.shutdown(wait=False, cancel_futures=True)
        from cellucid.analysis import prepare as analysis_prep

        analysis_prep.forget(self.source)
        if self.cluster is not None:
            self.cluster.close()


class StepPause:
    """What the running analysis preparation calls between the steps of its passes
    (:mod:`cellucid.analysis._steps`): after a data request in the last ``quiet_s``, wait
    until the next quiet moment, within the preparation's share of the time (PREPARE_SHARE).

    Waiting before starting is not enough: a page opened a few seconds after the server
    started met the preparation running and drew its first frame at 1M cells ~0.2 s later
    (2 cores: the browser, the routes and the passes competing for the CPU and the GIL)."""

    def __init__(self, state: "ServerState", quiet_s: float = QUIET_S):
        self.state = state
        self.quiet_s = quiet_s
        self.credit = QUIET_WAIT_MAX_S  # seconds it may still pause
        self.resumed: float | None = None  # when it last went back to work

    def __call__(self) -> None:
        now = time.monotonic()
        if self.resumed is not None:
            earned = (now - self.resumed) * (1 - PREPARE_SHARE) / PREPARE_SHARE
            self.credit = min(self.credit + earned, QUIET_WAIT_MAX_S)
        if self.state.viewer_loading(self.quiet_s) and self.credit > 0:
            self.state.wait_until_quiet(self.quiet_s, self.credit)
            self.credit = max(0.0, self.credit - (time.monotonic() - now))
        self.resumed = time.monotonic()


def _attach_cluster(target, source: DataSource, n_genes: int):
    if target is None:
        return None
    from cellucid.analysis._matrix import expression_of
    from cellucid.analysis.cluster import as_cluster

    cluster = as_cluster(target)
    if n_genes:
        expression_of(source).cluster = cluster
    return cluster


def _prepare_analysis(warming, source: DataSource, default_field: str | None, cluster=None,
                      wait_until_quiet: Callable[[], None] = lambda: None,
                      pause: Callable[[], None] | None = None) -> None:
    from cellucid.analysis import prepare as analysis_prep

    try:
        warming.result()
    except Exception:  # noqa: BLE001 - the warm-up's own problem; preparing is still useful
        pass
    index = _index_of(source)
    if index is not None and cluster is None:
        # built in the background; its build pauses for requests, this waits (the cluster
        # reads row blocks of the file itself and does not need the index)
        index.wait()
    wait_until_quiet()  # a page loading its first frame goes first
    analysis_prep.prepare(source, [default_field] if default_field else [], pause=pause)


def _index_of(source: DataSource):
    """The gene index (cellucid.data.gene_reading.gene_index) of a backed CSR source, or None."""
    return getattr(getattr(source, "expression_reader", lambda: None)(), "index", None)


def _build_gene_lookup(source: DataSource) -> None:
    from cellucid.data.genes import lookup_for

    try:
        lookup_for(source)
    except Exception:  # noqa: BLE001 — a request that needs it reports the problem itself
        pass


def _annotation_service(folder, source: DataSource, identity: dict):
    """With an annotation folder: the service, and the consensus field listed in the
    identity like any categorical field (so the viewer colours, filters and selects by it)."""
    if folder is None:
        return None
    from cellucid.server.annotations import CATEGORICAL, AnnotationService

    fields = identity["fields"]
    service = AnnotationService(folder, source, [f["name"] for f in fields], identity["stats"]["n_cells"])
    service.set_categorical(f["name"] for f in fields if f["kind"] in CATEGORICAL)
    fields.append({"name": service.field_name, "kind": "categorical", "annotation": True})
    identity["annotations"] = {"consensus_field": service.field_name,
                               "author": folder.project().author}
    return service
