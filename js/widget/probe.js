// Can the browser reach the server at all? Answer before the user stares at a blank box.

/**
 * Resolves to {ok: true} or {ok: false, reason}. Same-origin (proxied) URLs are fetched
 * normally so a 404 from Jupyter (no jupyter-server-proxy) is told apart; cross-origin
 * (direct) URLs are fetched with mode "no-cors": an opaque answer still proves reachability.
 */
export async function probeHealth(base, { timeoutMs = 8000, fetchImpl = fetch } = {}) {
  const url = new URL("_cellucid/health", base.href);
  const sameOrigin = url.origin === window.location.origin;
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    const resp = await fetchImpl(url.href, {
      mode: sameOrigin ? "same-origin" : "no-cors",
      cache: "no-store",
      credentials: sameOrigin ? "same-origin" : "omit",
      signal: ctrl.signal,
    });
    if (sameOrigin && !resp.ok) {
      return { ok: false, url: url.href, reason: `HTTP ${resp.status}`, status: resp.status };
    }
    return { ok: true, url: url.href };
  } catch (err) {
    const reason = ctrl.signal.aborted ? `no answer within ${timeoutMs / 1000} s` : String(err && err.message || err);
    return { ok: false, url: url.href, reason };
  } finally {
    clearTimeout(timer);
  }
}
