// The cellucid anywidget front end: an iframe onto the cellucid server, with the model's
// traitlets relayed to and from the viewer's postMessage bridge.
import { createBridge } from "./bridge.js";
import { bufferToUint32, fromUint32, toUint32 } from "./codec.js";
import { unreachableHtml } from "./message.js";
import { probeHealth } from "./probe.js";
import { iframeSrc, viewerBaseUrl } from "./url.js";
import { rendererHint } from "../src/render/probe.js";

function render({ model, el }) {
  const token = model.get("token");
  const proxied = !!model.get("proxy_url");
  const base = viewerBaseUrl({
    serverUrl: model.get("server_url"),
    serverPort: model.get("server_port"),
    proxyUrl: model.get("proxy_url"),
  });
  const targetOrigin = base.origin;

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
      model.set(attrs);
    } finally {
      fromViewer = false;
    }
    model.save_changes();
  };

  const bridge = createBridge({
    iframe,
    targetOrigin,
    token,
    onMessage(type, payload) {
      switch (type) {
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
    },
  });

  function toUint32Cells(cells) {
    if (cells instanceof Uint32Array) return cells;
    if (Array.isArray(cells) || ArrayBuffer.isView(cells)) return Uint32Array.from(cells);
    return new Uint32Array(0);
  }

  function sendHighlight() {
    const cells = toUint32(model.get("highlight"));
    if (cells.length === 0) bridge.send("clear_highlights", {});
    else bridge.send("highlight", { cells, color: model.get("highlight_color") }, [cells.buffer]);
  }

  function pushInitialState(info) {
    // Sent right after "ready" (the bridge flushes its queue after this handler returns).
    for (const [k, type, key] of [["embedding", "embedding", "key"], ["dimension", "dimension", "dim"], ["color_by", "color_by", "name"]]) {
      const v = model.get(k);
      if (v != null && v !== info[k]) request(k, type, key);
    }
    if (toUint32(model.get("highlight")).length) sendHighlight();
  }

  // Values Python asked for and the viewer has not confirmed yet. A "state" message sent
  // before the viewer applied them carries the old value and must not overwrite them.
  const pending = new Map();
  const request = (k, type, key) => {
    const v = model.get(k);
    if (v == null) return;
    pending.set(k, { value: v, until: Date.now() + 10000 });
    bridge.send(type, { [key]: v });
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
    bridge.send(content.cmd, payload, transfer);
  };
  model.on("msg:custom", onCustom);

  // A reload inside the iframe means a fresh viewer: wait for its "ready" again.
  iframe.addEventListener("load", () => bridge.reset());

  // Probe first, so an unreachable server gives a message instead of a blank box.
  let disposed = false;
  setStatus("loading");
  // Meanwhile: which point renderer fits this machine (render/probe.js), asked here because
  // the notebook page keeps its origin (and its memory of the answer) while every viewer
  // server has a port of its own.
  const renderer = rendererHint();
  Promise.all([probeHealth(base, { token }), renderer]).then(([res, kind]) => {
    if (disposed) return;
    if (res.ok) {
      iframe.src = iframeSrc(base, token, window.location.origin, kind);
    } else {
      iframe.remove();
      box.innerHTML = unreachableHtml({ url: res.url, reason: res.reason, proxied, status: res.status });
      setStatus(`error: cannot reach ${res.url} (${res.reason})`);
    }
  });

  return () => {
    disposed = true;
    for (const off of offs) off();
    model.off("msg:custom", onCustom);
    bridge.dispose();
    iframe.src = "about:blank";
    box.remove();
  };
}

export default { render };
