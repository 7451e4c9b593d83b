"""A zarr store over object storage that caches, retries and times out (issue 17, item 2).

:class:`RemoteStore` wraps zarr's :class:`~zarr.storage.FsspecStore` (s3://, gs://, https://,
any async fsspec filesystem). Every ``get`` — a whole object or a byte range of one (a shard's
index, one chunk inside a shard) — goes through it:

- **cached in memory with a byte bound** (least recently used out first), so the metadata,
  the obs columns and the genes already shown are fetched once; readers asking for the same
  bytes at the same time share one request;
- **bounded by a timeout** per request, so a store that hangs mid-read fails that read instead
  of holding a server thread forever;
- **retried** on transient errors (dropped connections, timeouts, HTTP 5xx / 429) a bounded
  number of times with exponential backoff. What cannot succeed by trying again — a key that
  does not exist, access denied, no credentials — is not retried.

Reads stay **concurrent**: zarr issues the chunk requests of one selection together on its
own event loop (``zarr.config`` ``async.concurrency``), and the server's executor threads read
different elements at the same time; this wrapper adds no lock around the network.

When the retries are spent, :class:`StoreUnavailable` (a :class:`CellucidError`) says what
failed and what to do; the server turns it into a JSON error (HTTP 502) and the next request
tries the store afresh.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Iterable

from zarr.storage import WrapperStore

from cellucid.data.base import CellucidError


@dataclass(frozen=True)
class RemoteSettings:
    """Limits of remote reads; each has an environment variable (read at open time).

    ``timeout`` seconds per request (``CELLUCID_REMOTE_TIMEOUT``, default 30), ``retries``
    after the first try (``CELLUCID_REMOTE_RETRIES``, default 3; waits 0.2 s, 0.4 s, 0.8 s ...),
    ``cache_bytes`` of fetched bytes kept in memory (``CELLUCID_REMOTE_CACHE``, default 512 MB;
    0 keeps nothing).
    """

    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.2
    cache_bytes: int = 512 * 2**20

    @classmethod
    def from_env(cls) -> "RemoteSettings":
        from cellucid.data.gene_reading.index_cache import parse_size

        env = os.environ
        return cls(
            timeout=float(env.get("CELLUCID_REMOTE_TIMEOUT", cls.timeout)),
            retries=max(0, int(env.get("CELLUCID_REMOTE_RETRIES", cls.retries))),
            backoff=float(env.get("CELLUCID_REMOTE_BACKOFF", cls.backoff)),
            cache_bytes=parse_size(env.get("CELLUCID_REMOTE_CACHE", cls.cache_bytes)),
        )


class StoreUnavailable(CellucidError):
    """A remote read failed after its retries (dropped connection, timeout, server error).

    The server answers it with HTTP 502 and a hint; nothing is cached, so the next request
    tries again.
    """

    http_status = 502


def is_permanent(exc: BaseException) -> bool:
    """Errors trying again cannot fix: missing key, access denied, no or bad credentials."""
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)):
        return True
    name = type(exc).__name__
    if "Credentials" in name or name in ("ClientError", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return True
    status = getattr(exc, "status", None)  # aiohttp.ClientResponseError
    if isinstance(status, int) and 400 <= status < 500 and status not in (408, 429):
        return True
    return False


class _ByteCache:
    """Least-recently-used bytes, bounded by their total size. Thread-safe."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> tuple[bool, Any]:
        with self._lock:
            if key not in self._items:
                return False, None
            self._items.move_to_end(key)
            return True, self._items[key]

    def put(self, key: tuple[str, str], value: Any) -> None:
        n = len(value) if value is not None else 0
        if n > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self.size -= len(old) if old is not None else 0
            self._items[key] = value
            self.size += n
            while self.size > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self.size -= len(dropped) if dropped is not None else 0


class RemoteStore(WrapperStore):
    """Read-only zarr store: the wrapped store's reads, cached, timed out and retried."""

    def __init__(self, store: Any, url: str = "", settings: RemoteSettings | None = None,
                 cache: _ByteCache | None = None):
        super().__init__(store)
        self.url = url
        self.settings = settings or RemoteSettings()
        self.cache = cache if cache is not None else _ByteCache(self.settings.cache_bytes)
        self._inflight: dict[tuple[str, str], asyncio.Future] = {}
        self.requests = 0  # requests sent to the store (cache misses and retries), for tests and bench
        self.log: deque[tuple[str, str]] = deque(maxlen=1000)  # the latest (key, byte range) sent

    def _with_store(self, store: Any) -> "RemoteStore":
        return type(self)(store, self.url, self.settings, self.cache)

    def __repr__(self) -> str:
        return f"RemoteStore({self.url!r})"

    async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
        cache_key = (key, repr(byte_range))
        hit, value = self.cache.get(cache_key)
        if hit:
            return value
        # One request per key at a time: a second reader of the same bytes (the start-up warm-up
        # and the viewer's first request, say) waits for the first one's answer. zarr runs every
        # store call on its one event loop, so this dict needs no lock.
        pending = self._inflight.get(cache_key)
        if pending is not None:
            return await asyncio.shield(pending)
        pending = asyncio.get_running_loop().create_future()
        self._inflight[cache_key] = pending
        try:
            value = await self._get_retrying(key, prototype, byte_range)
        except BaseException as exc:
            pending.set_exception(exc)
            pending.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        finally:
            self._inflight.pop(cache_key, None)
        self.cache.put(cache_key, value)
        pending.set_result(value)
        return value

    async def get_partial_values(self, prototype: Any, key_ranges: Iterable[tuple[str, Any]]) -> list[Any]:
        # Through get(), so partial reads are cached and retried too; together, so concurrent.
        return list(await asyncio.gather(*(self.get(k, prototype, r) for k, r in key_ranges)))

    async def _get_retrying(self, key: str, prototype: Any, byte_range: Any) -> Any:
        s = self.settings
        last: BaseException | None = None
        for attempt in range(s.retries + 1):
            if attempt:
                await asyncio.sleep(s.backoff * 2 ** (attempt - 1))
            self.requests += 1
            self.log.append((key, repr(byte_range)))
            try:
                return await asyncio.wait_for(self._store.get(key, prototype, byte_range), s.timeout)
            except asyncio.TimeoutError:
                last = TimeoutError(f"no answer within {s.timeout:g} s")
            except Exception as exc:  # noqa: BLE001 - sorted below: permanent or transient
                if is_permanent(exc):
                    raise
                last = exc
        where = f"{self.url.rstrip('/')}/{key}" if self.url else key
        raise StoreUnavailable(
            f"reading {where} failed after {s.retries + 1} tries "
            f"({type(last).__name__}: {str(last)[:200] or 'connection lost'})",
            hint="the store dropped the connection, timed out or answered with a server error; "
            "check the network and the endpoint, then ask again (the next request tries afresh). "
            "Tune with CELLUCID_REMOTE_TIMEOUT (seconds per request) and CELLUCID_REMOTE_RETRIES.",
        ) from None
