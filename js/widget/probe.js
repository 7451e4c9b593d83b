// Can the browser reach the server at all, and is it this viewer's server? Answer before
// the user stares at a blank box, or at another dataset.

/**
 * Resolves to {ok: true} or {ok: false, reason}. Asked with the server's token: the server
 * answers `token_ok` (and, across origins, lets this page read the answer: CORS) only when
 * the token is its own, so another server answering at the same address (a forwarded or
 * reused port) is told apart (`foreign: true`). Same-origin (proxied) URLs also tell a 404
 * from Jupyter (no jupyter-server-proxy) apart. Without a token only reachability is asked.
 */
export async function probeHealth(base, { token = "", timeoutMs = 8000, fetchImpl = fetch } = {}) {
  const url = new URL("_cellucid/health", base.href);
  // The token lets the request through the server's Host check when it arrives through a
  // proxy under a public host name (the server answers any Host for its own token).
  if (token) url.searchParams.set("token", token);
  const sameOrigin = url.origin === window.location.origin;
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  const ask = (mode) =>
    fetchImpl(url.href, { mode, cache: "no-store", credentials: sameOrigin ? "same-origin" : "omit", signal: ctrl.signal });
  const foreign = (why) => ({ ok: false, url: shown(url), foreign: true, reason: `another server answers at this address (${why})` });
  try {
    if (!token && !sameOrigin) {
      await ask("no-cors"); // an opaque answer still proves reachability
      return { ok: true, url: shown(url) };
    }
    let resp;
    try {
      resp = await ask(sameOrigin ? "same-origin" : "cors");
    } catch (err) {
      if (sameOrigin || ctrl.signal.aborted) throw err;
      // Across origins a refused read (no CORS header: not our server) and no answer at all
      // look the same here: an opaque request tells them apart.
      await ask("no-cors");
      return foreign("its answer does not confirm this viewer's token, or could not be read");
    }
    if (sameOrigin && !resp.ok) return { ok: false, url: shown(url), reason: `HTTP ${resp.status}`, status: resp.status };
    if (!token) return { ok: true, url: shown(url) };
    const body = await resp.json().catch(() => null);
    if (body && body.token_ok === true) return { ok: true, url: shown(url) };
    return foreign(body ? "it does not confirm this viewer's token" : "its answer is not cellucid's: not JSON, a login page?");
  } catch (err) {
    const reason = ctrl.signal.aborted ? `no answer within ${timeoutMs / 1000} s` : String((err && err.message) || err);
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
