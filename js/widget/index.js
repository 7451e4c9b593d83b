// The cellucid anywidget front end: the viewer in an iframe — onto the cellucid server when
// the browser reaches it, else written into the output with its data carried over the
// widget's comm (relay.js, inline.js) — with the model's traitlets relayed to and from the
// viewer's postMessage bridge.
import { createBridge } from "./bridge.js";
import { bufferToUint32, fromUint32, toUint32 } from "./codec.js";
import { commFailedHtml, unreachableHtml } from "./message.js";
import { firstFrameTargets, inlinePage, PAGE_BASE } from "./inline.js";
import { createRelay } from "./relay.js";
import { probeHealth } from "./probe.js";
import { iframeSrc, viewerBaseUrl } from "./url.js";
import { rendererHint } from "../src/render/probe.js";

/** The kernel's JSON error (`{error, hint}`) as one sentence, else the status and the text. */
function answerError({ status, bytes }) {
  const text = new TextDecoder().decode(bytes);
  try {
    const { error, hint } = JSON.parse(text);
    if (error) return `${error}${hint ? `. ${hint}` : ""}`;
  } catch (_) {
    /* not JSON */
  }
  return `the kernel answered ${status}: ${text.slice(0, 300)}`;
}

/** How long "auto" waits for the server's health before taking the comm (ms). */
const AUTO_PROBE_MS = 1500;

function render({ model, el }) {
  const token = model.get("token");
  const proxied = !!model.get("proxy_url");
  const base = viewerBaseUrl({
    serverUrl: model.get("server_url"),
    serverPort: model.get("server_port"),
    proxyUrl: model.get("proxy_url"),
  });

  el.classList.add("cellucid-widget");
  const box = document.createElement("div");
  box.style.position = "relative";
  box.style.width = "100%";
  const iframe = document.createElement("iframe");
  iframe.title = "cellucid viewer";
  iframe.setAttribute("allow", "fullscreen; clipboard-write");
  iframe.style.cssText = "width:100%;border:0;display:block";
  const setHeight = () => (iframe.style.height = `${model.get("height")}px`);
  setHeight();
  box.appendChild(iframe);
  el.appendChild(box);

  const setStatus = (s) => {
    if (model.get("status") === s) return;
    model.set("status", s);
    model.save_changes();
  };

  // Changes we apply because the viewer told us; not to be echoed back to the viewer.
  let fromViewer = false;
  const setFromViewer = (attrs) => {
    fromViewer = true;
    try {
      // one key at a time: anywidget's model API is set(key, value) (marimo's model takes
      // nothing else; Backbone's set({...}) form silently does nothing there)
      for (const [k, v] of Object.entries(attrs)) model.set(k, v);
    } finally {
      fromViewer = false;
    }
    model.save_changes();
  };

  let bridge = null; // created once the transport is chosen
  const early = []; // Python → viewer messages from before that
  const toViewer = (...msg) => (bridge ? bridge.send(...msg) : early.push(msg));
  const useBridge = (b) => {
    bridge = b;
    while (early.length) bridge.send(...early.shift());
  };
  function onMessage(type, payload) {
      switch (type) {
        case "http_request":
          if (relay) forwardRequest(payload);
          break;
        case "ready": {
          const info = {
            n_cells: payload.n_cells,
            dimensions: payload.dimensions || [],
            embedding: payload.embedding ?? null,
            dimension: payload.dimension ?? null,
            color_by: payload.color_by ?? null,
            dataset_id: payload.dataset_id ?? null,
          };
          // Python's choices win; the viewer's defaults fill what Python left unset.
          pushInitialState(info);
          const attrs = { ready: true, ready_info: info };
          for (const k of ["color_by", "embedding", "dimension"]) {
            if (model.get(k) == null && info[k] != null) attrs[k] = info[k];
          }
          setFromViewer(attrs);
          setStatus("ok");
          model.send({ event: "ready", payload: { n_cells: info.n_cells, dimensions: info.dimensions } });
          break;
        }
        case "selection": {
          // A new seq every time, read from the model (shared by every view of it), so an
          // identical selection made twice still reaches Python as two events.
          const seq = ((model.get("selection_event") || {}).seq || 0) + 1;
          setFromViewer({
            selection: fromUint32(toUint32Cells(payload.cells)),
            selection_event: { seq, source: payload.source || "unknown" },
          });
          break;
        }
        case "session": {
          // the viewer's full session; its cell lists become binary comm buffers
          const o = { ...(payload.session || {}) };
          o.selection = fromUint32(toUint32Cells(o.selection));
          o.highlight_groups = (o.highlight_groups || []).map((g) => ({ ...g, cells: fromUint32(toUint32Cells(g.cells)) }));
          setFromViewer({ session: o, session_request_id: payload.request_id ?? "" });
          break;
        }
        case "views":
          // the viewer's views (live + snapshots) and their layout (Python: viewer.views / layout).
          // A custom message, not a traitlet update: quick successive updates of one list
          // trait could be overtaken by the kernel's echo of an earlier one and lost.
          model.send({ event: "views", payload: { views: payload.views || [], layout: payload.layout || "single", link_cameras: !!payload.link_cameras } });
          break;
        case "view_error":
          model.send({ event: "view_error", payload: { message: payload.message || "" } });
          break;
        case "session_restored":
          model.send({ event: "session_restored", payload: { ...payload } });
          break;
        case "hover":
          setFromViewer({ hover: payload.cell ?? null });
          break;
        case "click":
          model.send({
            event: "click",
            payload: { cell: payload.cell ?? null, shift: !!payload.shift, ctrl: !!payload.ctrl },
          });
          break;
        case "state": {
          const attrs = {};
          for (const k of ["color_by", "embedding", "dimension"]) {
            if (!(k in payload)) continue;
            const want = pending.get(k);
            if (want && Date.now() < want.until && payload[k] !== want.value) continue; // stale: Python asked for another value
            pending.delete(k);
            attrs[k] = payload[k];
          }
          setFromViewer(attrs);
          break;
        }
        default:
          break;
      }
  }

  // A request of the viewer page, carried over the comm; the answer goes back in parts.
  function forwardRequest({ id, url, headers, method, body }) {
    if (typeof id !== "string" || typeof url !== "string") return;
    const write = typeof method === "string" && method !== "GET" ? { method, body: body instanceof ArrayBuffer ? body : null } : null;
    relay.request(url, headers, {
      head: (h) => bridge.post("http_head", { id, status: h.status, headers: h.headers }),
      chunk: (bytes) => bridge.post("http_chunk", { id, bytes }, [bytes]),
      end: () => bridge.post("http_end", { id }),
      error: (message) => bridge.post("http_error", { id, message }),
    }, write);
  }

  const setTransport = (kind) => {
    if (model.get("transport_in_use") === kind) return;
    model.set("transport_in_use", kind);
    model.save_changes();
  };
  // a line under the viewer: which way the data go, or the kernel's trouble
  const note = document.createElement("div");
  note.className = "cellucid-transport-note";
  note.setAttribute("role", "status");
  note.style.cssText = "font:12px/1.4 sans-serif;color:#666;padding:2px 4px;display:none";
  el.appendChild(note);
  function showNote(text) {
    note.textContent = text || "";
    note.style.display = text ? "block" : "none";
  }

  function toUint32Cells(cells) {
    if (cells instanceof Uint32Array) return cells;
    if (Array.isArray(cells) || ArrayBuffer.isView(cells)) return Uint32Array.from(cells);
    return new Uint32Array(0);
  }

  function sendHighlight() {
    const cells = toUint32(model.get("highlight"));
    if (cells.length === 0) toViewer("clear_highlights", {});
    else toViewer("highlight", { cells, color: model.get("highlight_color") }, [cells.buffer]);
  }

  function pushInitialState(info) {
    // Sent right after "ready" (the bridge flushes its queue after this handler returns).
    for (const [k, type, key] of [["embedding", "embedding", "key"], ["dimension", "dimension", "dim"], ["color_by", "color_by", "name"]]) {
      const v = model.get(k);
      if (v != null && v !== info[k]) request(k, type, key);
    }
    if (toUint32(model.get("highlight")).length) sendHighlight();
    if (model.get("layout") === "grid") toViewer("layout", { layout: "grid" });
    if (model.get("link_cameras")) toViewer("link_cameras", { on: true });
  }

  // Values Python asked for and the viewer has not confirmed yet. A "state" message sent
  // before the viewer applied them carries the old value and must not overwrite them.
  const pending = new Map();
  const request = (k, type, key) => {
    const v = model.get(k);
    if (v == null) return;
    pending.set(k, { value: v, until: Date.now() + 10000 });
    toViewer(type, { [key]: v });
  };

  // Python → viewer
  const onTrait = (name, fn) => {
    const handler = () => {
      if (!fromViewer) fn();
    };
    model.on(`change:${name}`, handler);
    return () => model.off(`change:${name}`, handler);
  };
  const offs = [
    onTrait("height", setHeight),
    onTrait("color_by", () => request("color_by", "color_by", "name")),
    onTrait("embedding", () => request("embedding", "embedding", "key")),
    onTrait("dimension", () => request("dimension", "dimension", "dim")),
    onTrait("highlight", sendHighlight),
    onTrait("highlight_color", sendHighlight),
    onTrait("layout", () => toViewer("layout", { layout: model.get("layout") })),
    onTrait("link_cameras", () => toViewer("link_cameras", { on: !!model.get("link_cameras") })),
  ];

  const onCustom = (content, buffers) => {
    if (!content || typeof content.cmd !== "string") return;
    const payload = { ...(content.payload || {}) };
    // a restored session sets color_by/embedding/dimension itself: Python's earlier requests
    // are superseded, so the viewer's next "state" must not be discarded as stale
    if (content.cmd === "set_session") pending.clear();
    const transfer = [];
    if (content.has_cells) {
      payload.cells = bufferToUint32(buffers && buffers[0]);
      transfer.push(payload.cells.buffer);
    }
    toViewer(content.cmd, payload, transfer);
  };
  model.on("msg:custom", onCustom);

  // Which way the data travel: over HTTP (direct or through jupyter-server-proxy) when the
  // browser reaches the server, else through the widget's own comm (relay.js). "auto" asks the
  // server's health with a short timeout first; "comm" never touches the port.
  let disposed = false;
  let relay = null;
  setStatus("loading");
  // Meanwhile: which point renderer fits this machine (render/probe.js), asked here because
  // the notebook page keeps its origin (and its memory of the answer) while every viewer
  // server has a port of its own.
  const renderer = rendererHint();
  const requested = model.get("transport") || "auto";

  function startHttp(kind) {
    useBridge(createBridge({ iframe, targetOrigin: base.origin, token, onMessage }));
    // A reload inside the iframe means a fresh viewer: wait for its "ready" again.
    iframe.addEventListener("load", () => bridge.reset());
    setTransport(proxied ? "proxy" : "http");
    iframe.src = iframeSrc(base, token, window.location.origin, kind);
  }

  async function startComm(kind, reason) {
    const origin = window.origin && window.origin !== "null" ? window.origin : "*";
    useBridge(createBridge({ iframe, targetOrigin: origin, token, onMessage }));
    relay = createRelay(model, { onStatus: showNote });
    setTransport("comm");
    if (reason) showNote(reason);
    try {
      const search = new URL(iframeSrc(new URL(PAGE_BASE), token, origin, kind)).search;
      const asked = ["/", "/assets/app.js", "/assets/app.css"].map((u) => relay.fetchWhole(u));
      // In the same message, the first frame's data: the kernel sends it while the page's
      // script arrives and starts, and the page's own requests for these URLs take the
      // answers over (the same header as js/src/data/transport.js, or they would not match).
      const gzip = typeof DecompressionStream === "function" ? { "Accept-Encoding": "gzip" } : {};
      relay.prefetch(firstFrameTargets(model.get("first_view"), search), gzip);
      const files = await Promise.all(asked);
      const bad = files.find((f) => f.status !== 200);
      if (bad) throw new Error(answerError(bad));
      const [html, js, css] = files.map((f) => new TextDecoder().decode(f.bytes));
      if (disposed) return;
      iframe.srcdoc = inlinePage({ html, js, css }, { search });
    } catch (e) {
      if (disposed) return;
      iframe.remove();
      box.innerHTML = commFailedHtml(String((e && e.message) || e));
      setStatus(`error: the viewer could not load through the notebook connection (${(e && e.message) || e})`);
    }
  }

  function showUnreachable(res) {
    iframe.remove();
    box.innerHTML = unreachableHtml({ url: res.url, reason: res.reason, proxied, status: res.status, foreign: !!res.foreign });
    setStatus(`error: cannot reach ${res.url} (${res.reason})`);
  }

  const probe = requested === "comm" ? Promise.resolve(null) : probeHealth(base, { token, timeoutMs: requested === "auto" ? AUTO_PROBE_MS : 8000 });
  Promise.all([probe, renderer]).then(([res, kind]) => {
    if (disposed) return;
    if (requested === "comm") startComm(kind, null);
    else if (res.ok) startHttp(kind);
    else if (requested === "auto") {
      const why = res.foreign ? `at ${res.url} ${res.reason}` : `this browser cannot reach the data server (${res.reason})`;
      startComm(kind, `cellucid: ${why}; the viewer gets its data through the notebook's own connection instead.`);
    } else showUnreachable(res);
  });

  return () => {
    disposed = true;
    for (const off of offs) off();
    model.off("msg:custom", onCustom);
    if (bridge) bridge.dispose();
    if (relay) relay.dispose();
    iframe.src = "about:blank";
    box.remove();
  };
}

export default { render };
