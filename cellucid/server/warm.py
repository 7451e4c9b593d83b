"""Encode the first frame before the first viewer asks for it.

Every page load starts with the same three requests — the default embedding (quantized),
the default obs field's codes and its legend — so the server encodes them in the
background as soon as it starts. By the time a browser has started its page (≥ 100 ms
later), they are answered from the response cache instead of competing for the CPU with
the browser that is building the page (measured 15–50 ms each on a 2-core machine while
Chromium loads, against 2 ms from the cache).
"""

from __future__ import annotations

from cellucid.server.handlers import data


def first_frame_keys(identity: dict) -> dict:
    """What the viewer's first frame asks for with no URL choices (js/src/data/startup.js
    ``firstView``): ``{"embedding": (key, dim) | None, "field": name | None}``."""
    emb = identity.get("default_embedding")
    dim = identity.get("default_dimension") or 2
    field = identity.get("default_field")
    names = {f["name"] for f in identity.get("fields", [])}
    return {"embedding": (emb, dim) if emb else None, "field": field if field in names else None}


def warm_first_frame(state) -> None:
    """Build the first frame's responses into ``state``'s caches. Runs on the read executor;
    never raises (a failure is reported by the request that meets it) and caches nothing
    when the data files changed meanwhile."""
    try:
        want = first_frame_keys(state.identity)
        state.watch.check()
        built = []
        if want["field"]:
            name = want["field"]
            field = state.fields.get(name) or state.source.obs_field(name)
            built.append((None, name, field))
            built.append((data.obs_meta_key(name), data.obs_meta_response(field), None))
            built.append((data.obs_key(name), data.obs_response(name, field), None))
        if want["embedding"]:
            key, dim = want["embedding"]
            built.append((data.embedding_key(key, dim, "u16"), data.embedding_response(state.source, key, dim, "u16"), None))
        state.watch.check()
        for cache_key, response, field in built:
            if field is not None:
                state.remember_field(response, field)
            elif state.responses.get(cache_key) is None:
                if data.gzip_candidate(response):
                    data.compress_if_worth(response)  # browsers ask for gzip
                state.responses.put(cache_key, response)
    except Exception:  # noqa: BLE001 — the request for it reports the problem
        pass
