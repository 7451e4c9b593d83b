// Where the iframe points: direct (http://127.0.0.1:<port>/) or through jupyter-server-proxy.
// Mirrors cellucid/widget/proxy.py: proxy_url is "" (direct), "auto" (derive from the page),
// or an explicit URL/path ending in "/".

/** The notebook server's base URL from the page config (JupyterLab, Notebook 7), or "/". */
export function pageBaseUrl(doc = document) {
  try {
    const el = doc.getElementById("jupyter-config-data");
    if (el) {
      const cfg = JSON.parse(el.textContent || "{}");
      if (cfg.baseUrl) return cfg.baseUrl.endsWith("/") ? cfg.baseUrl : cfg.baseUrl + "/";
    }
  } catch (_) {
    /* fall through */
  }
  return "/";
}

/** Absolute base URL of the viewer (ends with "/"), resolved against the page. */
export function viewerBaseUrl({ serverUrl, serverPort, proxyUrl }, loc = window.location, doc = document) {
  let base;
  if (!proxyUrl) base = serverUrl;
  else if (proxyUrl === "auto") base = `${pageBaseUrl(doc)}proxy/${serverPort}/`;
  else base = proxyUrl;
  const url = new URL(base, loc.href);
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  url.search = "";
  url.hash = "";
  return url;
}

/**
 * The iframe src: the viewer in embed mode with the bridge token and our origin, and the
 * point renderer ("webgl" / "cpu") when this page already knows which one fits.
 */
export function iframeSrc(base, token, parentOrigin, renderer = null) {
  const url = new URL(base.href);
  url.searchParams.set("embed", "1");
  url.searchParams.set("token", token);
  url.searchParams.set("parent_origin", parentOrigin);
  if (renderer) url.searchParams.set("renderer", renderer);
  return url.href;
}
