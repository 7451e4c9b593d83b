"""A small LRU of encoded responses, bounded by total bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass
class Encoded:
    """One ready-to-send response body: raw bytes, gzip bytes once made, and its headers."""

    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    gzipped: bytes | None = None
    # False once a sample showed gzip would not pay (e.g. quantized coordinates: 0.2 % smaller
    # for ~140 ms at 1M cells on the first frame's path); None = not checked yet.
    compressible: bool | None = None
    # held while gzip runs: a request that meets a body being compressed (by the warm-up)
    # waits for that work instead of doing it a second time
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def nbytes(self) -> int:
        return len(self.body) + (len(self.gzipped) if self.gzipped else 0)


class ByteLRU:
    """Least-recently-used mapping whose values report ``nbytes``; evicts past ``max_bytes``.

    Items larger than a quarter of the bound are not kept: one huge gene column must not
    flush everything else.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[object, object] = OrderedDict()
        self._sizes: dict[object, int] = {}
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value, nbytes: int | None = None) -> None:
        size = value.nbytes if nbytes is None else nbytes
        with self._lock:
            if key in self._items:
                self._total -= self._sizes.pop(key)
                del self._items[key]
            if size > self.max_bytes // 4:
                return
            self._items[key] = value
            self._sizes[key] = size
            self._total += size
            while self._total > self.max_bytes and self._items:
                old, _ = self._items.popitem(last=False)
                self._total -= self._sizes.pop(old)

    def clear(self) -> None:
        """Forget everything (the data files changed: nothing kept may be sent again)."""
        with self._lock:
            self._items.clear()
            self._sizes.clear()
            self._total = 0

    @property
    def total_bytes(self) -> int:
        return self._total

    def __len__(self) -> int:
        return len(self._items)
