"""A Dask cluster that cellucid sends reductions over all cells to, and falls back from.

:class:`DaskCluster` wraps a ``distributed.Client`` (yours, or one it connects to an address
such as ``tcp://host:8786``). :meth:`DaskCluster.run` maps a function over tasks (row blocks
of the matrix, see :mod:`cellucid.analysis.dask_jobs`) on the workers and folds the partial
results as they arrive. Whatever goes wrong with the cluster — the scheduler cannot be
reached, it dies or loses every worker mid-job, or a worker cannot read the file — is said
once, as a warning in the log (and in ``/_cellucid/health``), and the job finishes
in-process: the tasks not yet done run here with the same function, and later jobs run
here too. An answer is therefore never lost to the cluster, only slower.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
import warnings
from typing import Any, Callable, Sequence

log = logging.getLogger("cellucid.analysis")

# Seconds to wait for a scheduler to answer before computing in-process.
CONNECT_TIMEOUT = 10.0


def connect_timeout() -> float:
    """``CELLUCID_DASK_TIMEOUT`` seconds, or :data:`CONNECT_TIMEOUT`."""
    return float(os.environ.get("CELLUCID_DASK_TIMEOUT") or CONNECT_TIMEOUT)
# A scheduler with no worker for this long has lost its cluster: finish in-process.
NO_WORKERS_WAIT = 30.0
POLL = 0.02  # seconds between looks at the tasks still running


class DaskCluster:
    """Where cellucid's reductions run: ``target`` is a ``distributed.Client`` (used as is,
    never closed here) or a scheduler address (``"tcp://host:8786"``: connected to in the
    background, closed by :meth:`close`).

    ``warn``: also raise Python warnings (the notebook API), not only log them.
    ``progress_bar``: a tqdm bar per job (shown after half a second).
    ``on_progress``: callables ``(job, done, total)`` called after each finished task.
    """

    def __init__(self, target: Any, *, warn: bool = False, progress_bar: bool = False, wait: bool = False):
        self.warn, self.progress_bar = warn, progress_bar
        self.on_progress: list[Callable[[str, int, int], None]] = []
        self.state = "connecting"  # connected | unreachable | lost
        self.problem: str | None = None  # the one warning, when the cluster is not used
        self.note: str | None = None  # why a dataset is computed in-process anyway
        self.job: str | None = None
        self.done = self.total = 0
        self.n_workers = 0
        # Bytes of numpy arrays sent with tasks and received as results (what moving data costs;
        # the matrix itself is read by the workers from the file and never counted here).
        self.bytes_sent = self.bytes_received = 0
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._client: Any = None
        self._owns = isinstance(target, str)
        if self._owns:
            self.address = target
            if wait:
                self._connect()
            else:
                threading.Thread(target=self._connect, name="cellucid-dask-connect", daemon=True).start()
        else:
            self.address = str(getattr(getattr(target, "scheduler", None), "address", None) or target)
            self._adopt(target)

    # -- connection --------------------------------------------------------------------
    def _connect(self) -> None:
        try:
            from distributed import Client
        except ImportError:
            self._give_up("unreachable", "Dask is not installed (pip install 'cellucid[dask]')")
            return
        try:
            client = Client(self.address, timeout=connect_timeout(), set_as_default=False)
        except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError (bad address), ...
            self._give_up("unreachable", f"cannot reach the Dask scheduler at {self.address} ({_why(exc)})")
            return
        self._adopt(client)

    def _adopt(self, client: Any) -> None:
        status = getattr(client, "status", None)
        if status != "running":
            self._give_up("unreachable", f"the Dask client for {self.address} is not connected (status {status!r})")
            return
        self._client = client
        self.n_workers = _count_workers(client)
        self.state = "connected"
        self._ready.set()
        log.info("cellucid: analysis reductions run on the Dask cluster at %s (%d workers)",
                 self.address, self.n_workers)

    def _give_up(self, state: str, why: str) -> None:
        """Stop using the cluster: one warning, then every job runs in-process."""
        with self._lock:
            first = self.problem is None
            self.state, self._client = state, None
            if first:
                self.problem = f"{why}; computing in-process"
        if first:
            log.warning("cellucid: %s", self.problem)
            if self.warn:
                warnings.warn(f"cellucid: {self.problem}", RuntimeWarning, stacklevel=4)
        self._ready.set()

    def client(self) -> Any:
        """The connected client, or ``None`` when jobs must run in-process (waits for the
        connection being made, at most the connect timeout)."""
        self._ready.wait(connect_timeout() + 5)
        return self._client

    def note_in_process(self, why: str) -> None:
        """Say once (log, health) that a dataset's reductions run in-process, and why."""
        if self.note != why:
            self.note = why
            log.info("cellucid: %s; analysis runs in-process", why)

    def status(self) -> dict:
        """What ``/_cellucid/health`` reports (memory only, no network)."""
        out: dict = {"scheduler": self.address, "status": self.state, "workers": self.n_workers}
        if self.problem:
            out["warning"] = self.problem
        if self.note:
            out["note"] = self.note
        if self.job is not None:
            out.update(job=self.job, progress=round(self.done / max(self.total, 1), 3))
        return out

    def close(self) -> None:
        """Close the client if this object opened it (a client passed in stays open)."""
        client, self._client = self._client, None
        if client is not None and self._owns:
            try:
                client.close(timeout=2)
            except Exception:  # noqa: BLE001 - a dead scheduler makes close complain
                pass

    # -- jobs --------------------------------------------------------------------------
    def run(self, job: str, tasks: Sequence[tuple], fn: Callable, combine: Callable[[Any, Any], Any], acc: Any,
            shared: tuple = ()) -> Any:
        """``combine``-fold ``fn(*task, *shared)`` over ``tasks`` into ``acc``, on the cluster
        when it works, else (or for what is left when it fails) in-process. ``shared`` are
        large arguments every task needs (sent to each worker once)."""
        bar = self._start(job, len(tasks))
        remaining = set(range(len(tasks)))
        try:
            client = self.client()
            if client is not None:
                try:
                    acc = self._on_cluster(client, job, tasks, fn, combine, acc, shared, remaining, bar)
                except Exception as exc:  # noqa: BLE001 - any failure of the cluster: finish here
                    gone = "the scheduler is gone: " if getattr(client, "status", "running") != "running" else ""
                    self._give_up("lost", f"the Dask cluster at {self.address} failed during '{job}' "
                                          f"({gone}{_why(exc)}); {len(remaining)} of {len(tasks)} blocks left")
            for i in sorted(remaining):
                acc = combine(acc, fn(*tasks[i], *shared))
                self._advance(job, bar)
            return acc
        finally:
            self._finish(bar)

    def _on_cluster(self, client, job, tasks, fn, combine, acc, shared, remaining, bar):
        if client.status != "running":  # went away since the last job: do not wait on it
            raise ConnectionError(f"lost the connection to the scheduler (client {client.status})")
        token = uuid.uuid4().hex[:12]
        extra = tuple(client.scatter(s, broadcast=True, hash=False, timeout=60) for s in shared)
        self.bytes_sent += _nbytes(tasks) + _nbytes(shared) * max(self.n_workers, 1)
        pending = {client.submit(fn, *task, *extra, key=f"cellucid-{job}-{token}-{i}", pure=False): i
                   for i, task in enumerate(tasks)}
        last_worker = time.monotonic()
        while pending:
            finished = [f for f in pending if f.done()]
            for f in finished:
                i = pending.pop(f)
                part = f.result()  # raises the task's error, or CancelledError when the scheduler went
                self.bytes_received += _nbytes(part)
                acc = combine(acc, part)
                remaining.discard(i)
                self._advance(job, bar)
            if finished:
                continue
            if client.status != "running":
                raise ConnectionError(f"lost the connection to the scheduler (client {client.status})")
            if _count_workers(client):
                last_worker = time.monotonic()
            elif time.monotonic() - last_worker > NO_WORKERS_WAIT:
                raise ConnectionError(f"the scheduler has had no worker for {NO_WORKERS_WAIT:.0f} s")
            time.sleep(POLL)
        return acc

    def _start(self, job: str, total: int) -> Any:
        # health shows the latest job (the server may run two at once: precompute and a request)
        self.job, self.done, self.total = job, 0, total
        if not (self.progress_bar and total > 1):
            return None
        from tqdm.auto import tqdm

        where = "in-process" if self.problem else "Dask"
        return tqdm(total=total, desc=f"cellucid {job} ({where})", unit="block", delay=0.5, leave=False)

    def _advance(self, job: str, bar: Any) -> None:
        self.done += 1
        if bar is not None:
            bar.update(1)
        for callback in list(self.on_progress):
            callback(job, self.done, self.total)

    def _finish(self, bar: Any) -> None:
        if bar is not None:
            bar.close()
        self.job = None
        if self._client is not None:
            self.n_workers = _count_workers(self._client)


def _count_workers(client: Any) -> int:
    try:
        return len(client.scheduler_info().get("workers", {}))
    except Exception:  # noqa: BLE001 - a disconnected client
        return 0


def _nbytes(obj: Any) -> int:
    """Bytes of the numpy arrays in ``obj`` (tuples, lists, plain objects' attributes)."""
    if hasattr(obj, "nbytes") and hasattr(obj, "dtype"):
        return int(obj.nbytes)
    if isinstance(obj, (tuple, list)):
        return sum(_nbytes(o) for o in obj)
    attrs = getattr(obj, "__dict__", None)
    return sum(_nbytes(v) for v in attrs.values()) if attrs else 0


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def as_cluster(target: Any, **kw: Any) -> DaskCluster | None:
    """``None`` stays ``None``; a :class:`DaskCluster` is used as is; a client or an address
    becomes a :class:`DaskCluster`."""
    if target is None or isinstance(target, DaskCluster):
        return target
    check_target(target)
    return DaskCluster(target, **kw)


def check_target(target: Any) -> None:
    """:class:`~cellucid.data.base.BadParameter` unless ``target`` is ``None``, a scheduler
    address, a ``distributed.Client`` or a :class:`DaskCluster`."""
    if target is None or isinstance(target, (str, DaskCluster)) or hasattr(target, "submit"):
        return
    from cellucid.data.base import BadParameter

    raise BadParameter(f"dask_client must be a distributed.Client or a scheduler address, got {type(target).__name__}",
                       hint="for example dask_client=Client('tcp://host:8786') or dask_client='tcp://host:8786'")
