// Can the browser reach the server at all? Answer before the user stares at a blank box.

/**
 * Resolves to {ok: true} or {ok: false, reason}. Same-origin (proxied) URLs are fetched
 * normally so a 404 from Jupyter (no jupyter-server-proxy) is told apart; cross-origin
 * (direct) URLs are fetched with mode "no-cors": an opaque answer still proves reachability.
 */
export async function probeHealth(base, { token = "", timeoutMs = 8000, fetchImpl = fetch } = {}) {
  const url = new URL("_cellucid/health", base.href);
  // The token lets the request through the server's Host check when it arrives through a
  // proxy under a public host name (the server answers any Host for its own token).
  if (token) url.searchParams.set("token", token);
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
      return { ok: false, url: shown(url), reason: `HTTP ${resp.status}`, status: resp.status };
    }
    return { ok: true, url: shown(url) };
  } catch (err) {
    const reason = ctrl.signal.aborted ? `no answer within ${timeoutMs / 1000} s` : String(err && err.message || err);
    return { ok: false, url: shown(url), reason };
  } finally {
    clearTimeout(timer);
  }
}

// The URL as shown to the user: without the secret token.
function shown(url) {
  const u = new URL(url.href);
  u.searchParams.delete("token");
  return u.href;
}
