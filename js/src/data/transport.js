// How the viewer's requests reach the data server. Over HTTP they are plain fetches, relative
// to the page. When the notebook widget wrote this page into its output because the browser
// cannot reach the server's port (the comm transport; js/widget/relay.js), each request is
// posted to the widget, which carries it over the notebook's own connection to the kernel;
// the kernel answers it with the same route code as HTTP (cellucid/server/inprocess.py). The
// answer comes back as a stream of chunks, so a caller sees an ordinary `Response` either way
// (status, headers, streamed body for progress, `.json()`).

import { pageSearch, pageTransport } from "../page.js";

const NULL_BODY = new Set([101, 204, 205, 304]);

let comm = null; // {post, pending: Map<id, {resolve, reject, controller}>}, once needed

/**
 * fetch() for the viewer's data: `u` is a URL built against the page's base; `init` as
 * fetch's, of which the comm carries `method`, `body` (a string or bytes) and the
 * `Content-Type` header (the kernel adds the server's token itself).
 */
export function httpFetch(u, init) {
  if (pageTransport() !== "comm") return fetch(u, init);
  return commFetch(u instanceof URL ? u : new URL(String(u), document.baseURI), init);
}

function bodyBytes(body) {
  if (body == null) return null;
  if (typeof body === "string") return new TextEncoder().encode(body).buffer;
  if (body instanceof ArrayBuffer) return body.slice(0);
  if (ArrayBuffer.isView(body)) return body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength);
  throw new TypeError("over the notebook connection a request body is a string or bytes");
}

function commChannel() {
  if (comm) return comm;
  const q = new URLSearchParams(pageSearch());
  const token = q.get("token") || "";
  const parentOrigin = q.get("parent_origin") || "*";
  const pending = new Map();
  const post = (type, payload, transfer = []) =>
    window.parent.postMessage({ channel: "cellucid", token, type, payload }, parentOrigin, transfer);
  window.addEventListener("message", (event) => {
    const d = event.data;
    if (event.source !== window.parent || !d || d.channel !== "cellucid" || d.token !== token) return;
    if (parentOrigin !== "*" && event.origin !== parentOrigin) return;
    if (typeof d.type !== "string" || !d.type.startsWith("http_")) return;
    const p = d.payload || {};
    const req = pending.get(p.id);
    if (!req) return;
    if (d.type === "http_head") req.head(p);
    else if (d.type === "http_chunk") req.chunk(p.bytes);
    else if (d.type === "http_end") req.end();
    else if (d.type === "http_error") req.error(new TypeError(p.message || "the kernel did not answer"));
  });
  comm = { post, pending, next: 1 };
  return comm;
}

function commFetch(u, init = {}) {
  const ch = commChannel();
  const id = `r${ch.next++}`;
  const target = u.pathname + u.search;
  const method = String(init.method || "GET").toUpperCase();
  const body = bodyBytes(init.body);
  const headers = {};
  const type = new Headers(init.headers || {}).get("Content-Type");
  if (type) headers["Content-Type"] = type;
  // gzip where the browser can undo it: fewer bytes through the kernel's websocket
  if (typeof DecompressionStream === "function") headers["Accept-Encoding"] = "gzip";
  return new Promise((resolve, reject) => {
    let controller = null, answered = false;
    const stream = new ReadableStream({ start: (c) => (controller = c) });
    const done = () => ch.pending.delete(id);
    ch.pending.set(id, {
      head(p) {
        answered = true;
        const h = new Headers(p.headers || {});
        let body = NULL_BODY.has(p.status) ? null : stream;
        if (body && /gzip/i.test(h.get("Content-Encoding") || "")) {
          body = body.pipeThrough(new DecompressionStream("gzip"));
          h.delete("Content-Encoding");
          h.delete("Content-Length");
        }
        resolve(new Response(body, { status: p.status, headers: h }));
      },
      chunk(bytes) {
        if (bytes && bytes.byteLength) controller.enqueue(new Uint8Array(bytes));
      },
      end() {
        done();
        controller.close();
      },
      error(e) {
        done();
        if (answered) controller.error(e);
        else reject(e);
      },
    });
    if (method === "GET") ch.post("http_request", { id, url: target, headers });
    else ch.post("http_request", { id, url: target, headers, method, body }, body ? [body] : []);
  });
}
