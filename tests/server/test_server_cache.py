"""The byte-bounded response cache and the ETag it enables."""

from __future__ import annotations

from cellucid.server.cache import ByteLRU, Encoded


def entry(n: int) -> Encoded:
    return Encoded(b"x" * n, "application/octet-stream")


def test_lru_evicts_least_recently_used_past_the_byte_bound():
    cache = ByteLRU(max_bytes=1000)
    cache.put("a", entry(200))
    cache.put("b", entry(200))
    cache.put("c", entry(200))
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("d", entry(200))
    cache.put("e", entry(200))  # 1000 bytes: still fits
    cache.put("f", entry(200))  # over: evicts b, the least recently used
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("f") is not None
    assert cache.total_bytes <= 1000


def test_lru_does_not_keep_items_larger_than_a_quarter_of_the_bound():
    cache = ByteLRU(max_bytes=1000)
    cache.put("small", entry(100))
    cache.put("huge", entry(300))
    assert cache.get("huge") is None
    assert cache.get("small") is not None


def test_identity_answers_304_to_its_own_etag(demo):
    first = demo.get("/dataset_identity.json")
    again = demo.get("/dataset_identity.json", If_None_Match=first.headers["ETag"])
    assert (first.status, again.status) == (200, 304)
