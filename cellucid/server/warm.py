"""Encode the first frame before the first viewer asks for it.

Every page load starts with the same three requests — the default embedding (quantized),
the default obs field's codes and its legend — so the server encodes them in the
background as soon as it starts. By the time a browser has started its page (≥ 100 ms
later), they are answered from the response cache instead of competing for the CPU with
the browser that is building the page (measured 15–50 ms each on a 2-core machine while
Chromium loads, against 2 ms from the cache). A request for one of them that comes while
the warm-up is still running waits for it rather than doing the same work again
(``ServerState.wait_for_warm_up``).
"""

from __future__ import annotations

from cellucid.server import responses as data

WARM_GZIP_MAX = 8 << 20


def first_frame_keys(identity: dict) -> dict:
    """What the viewer's first frame asks for with no URL choices (the same choice as
    js/src/data/startup.js ``firstView``): ``{"embedding": (key, dim) | None,
    "field": name | None}`` (``field`` None also when the default is not an obs field)."""
    embs = identity.get("embeddings") or []
    emb = identity.get("default_embedding") or (embs[0]["key"] if embs else None)
    dim = int(identity.get("default_dimension") or 2)
    info = next((e for e in embs if e["key"] == emb), None)
    if info and dim not in info["dimensions"]:
        dim = max(d for d in info["dimensions"] if d <= 3)
    fields = identity.get("fields") or []
    field = identity.get("default_field") or (fields[0]["name"] if fields else None)
    if field not in {f["name"] for f in fields}:
        field = None
    return {"embedding": (emb, dim) if emb else None, "field": field}


def warm_cache_keys(identity: dict) -> tuple[set, set]:
    """(response-cache keys, decoded-field names) that the warm-up fills."""
    want = first_frame_keys(identity)
    responses, fields = set(), set()
    if want["field"]:
        fields.add(want["field"])
        responses |= {data.obs_key(want["field"]), data.obs_meta_key(want["field"])}
    if want["embedding"]:
        responses.add(data.embedding_key(*want["embedding"], "u16"))
    return responses, fields


def warm_first_frame(state) -> None:
    """Build the first frame's responses into ``state``'s caches, each as soon as it is made,
    then gzip the large ones (a progressive viewer asks for them whole after its first frame).
    Runs on the read executor; never raises (a failure is reported by the request that meets
    it) and caches nothing read after the data files changed."""
    big: list = []
    try:
        _warm(state, big)
        for response in big:  # (a request meeting one of these waits for it: Encoded.lock)
            data.compress_if_worth(response)
    except Exception:  # noqa: BLE001 — the request for it reports the problem
        pass


def _warm(state, big: list) -> None:
    """The first frame's bodies into the caches; large gzip candidates into ``big``."""
    want = first_frame_keys(state.identity)
    if want["field"]:
        name = want["field"]
        field = state.fields.get(name)
        if field is None:
            field = _checked(state, lambda: state.source.obs_field(name))
            state.remember_field(name, field)
        _keep(state, data.obs_meta_key(name), data.obs_meta_response(field), big)
        _keep(state, data.obs_key(name), data.obs_response(name, field), big)
    if want["embedding"]:
        key, dim = want["embedding"]
        response = _checked(state, lambda: data.embedding_response(state.source, key, dim, "u16"))
        _keep(state, data.embedding_key(key, dim, "u16"), response, big)


def _checked(state, read):
    """``read()`` between two checks of the data files, as ``ServerState.run`` does for the
    routes: a read from a file that changed meanwhile raises instead of being kept."""
    state.watch.check()
    result = read()
    state.watch.check()
    return result


def _keep(state, cache_key, response, big: list) -> None:
    if state.responses.get(cache_key) is not None:
        return
    # browsers ask for gzip; past ~8 MB (millions of cells) a progressive viewer asks for
    # cell ranges first, which must not wait ~1 s for the whole body to be compressed: those
    # are compressed after every first-frame body is in the caches
    if data.gzip_candidate(response):
        if len(response.body) <= WARM_GZIP_MAX:
            data.compress_if_worth(response)
        else:
            big.append(response)
    state.responses.put(cache_key, response)
    # also where cell ranges are cut from (too large for the response cache past ~8M cells)
    state.whole.put(cache_key, response)
