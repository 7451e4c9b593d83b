// The comm transport's page: the viewer's own index.html, app.js and app.css (asked from the
// kernel, answered by the same static routes as over HTTP), put together into one document
// that the widget writes into its output as an iframe's `srcdoc`. The frame has no address of
// its own, so it never contacts the server's port; the viewer reads its parameters from
// `window.__cellucidPage` (js/src/page.js) and sends its requests back through the widget
// (js/src/data/transport.js). Kept in a frame, not in the output element itself, so the
// viewer's page-wide styles, theme and keyboard handling stay out of the notebook's page.

import { firstFrameUrls } from "../src/data/client.js";
import { firstView, initialChoices } from "../src/data/startup.js";

// Relative URLs resolve here; nothing is ever fetched from it (".invalid" never resolves).
export const PAGE_BASE = "http://cellucid.invalid/";

const STYLE_LINK = /<link\s+rel="stylesheet"\s+href="assets\/app\.css"\s*\/?>/i;
const APP_SCRIPT = /<script\s+type="module"\s+src="assets\/app\.js"\s*><\/script>/i;

const escapeScript = (js) => js.replace(/<\/script/gi, "<\\/script");
const escapeStyle = (css) => css.replace(/<\/style/gi, "<\\/style");

/** One HTML document from the viewer's page and assets; `params` become `__cellucidPage`. */
export function inlinePage({ html, js, css }, params) {
  if (!STYLE_LINK.test(html) || !APP_SCRIPT.test(html)) {
    throw new Error("the viewer page does not have the expected asset tags (the kernel's cellucid and this widget differ)");
  }
  const page = JSON.stringify({ ...params, transport: "comm" }).replace(/</g, "\\u003c");
  const head = `<base href="${PAGE_BASE}"><script>window.__cellucidPage = ${page};</script>`;
  return html
    .replace(/<head>/i, `<head>${head}`)
    .replace(STYLE_LINK, () => `<style>${escapeStyle(css)}</style>`)
    .replace(APP_SCRIPT, () => `<script type="module">${escapeScript(js)}</script>`);
}

/**
 * The request targets (`/path?query`) of the first frame the page will ask for, given what
 * the kernel said the first view is chosen from (the `first_view` trait, JSON): the same
 * choice as the page's boot script (js/src/boot.js), so the widget can ask for that data
 * together with the page itself.
 */
export function firstFrameTargets(firstViewJson, search) {
  if (!firstViewJson) return [];
  try {
    const view = firstView(JSON.parse(firstViewJson), initialChoices(search, ""));
    return firstFrameUrls(view, PAGE_BASE).map((u) => u.pathname + u.search);
  } catch (_) {
    return []; // the page asks for itself
  }
}
