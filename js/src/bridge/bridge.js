// postMessage bridge to a host page (the Jupyter widget), exactly as in docs/http-api.md.
// Active only with ?embed=1&token=..&parent_origin=..; every incoming message must come from
// parent_origin and carry the token; every outgoing message goes only to parent_origin.
import { addGroup } from "../ui/selection.js";

const HOVER_MS = 50; // ≤ 20 hover messages per second

/** Read the bridge parameters from the page URL; null when not embedded. */
export function bridgeParams(search = window.location.search) {
  const q = new URLSearchParams(search);
  if (q.get("embed") !== "1") return null;
  const token = q.get("token");
  const parentOrigin = q.get("parent_origin");
  if (!token || !parentOrigin || window.parent === window) return null;
  return { token, parentOrigin };
}

/** Accept Uint32Array, ArrayBuffer, typed arrays or plain arrays of cell indices. */
function toCells(x, n) {
  let a;
  if (x instanceof Uint32Array) a = x;
  else if (x instanceof ArrayBuffer) a = new Uint32Array(x);
  else if (ArrayBuffer.isView(x)) a = Uint32Array.from(x);
  else if (Array.isArray(x)) a = Uint32Array.from(x);
  else a = new Uint32Array(0);
  return a.filter((i) => i < n);
}

export function startBridge(app, { token, parentOrigin }) {
  const post = (type, payload, transfer = []) => {
    window.parent.postMessage({ channel: "cellucid", token, type, payload }, parentOrigin, transfer);
  };

  const stateMsg = () => {
    const s = app.store.get();
    return { color_by: s.colorBy ? s.colorBy.name : null, embedding: s.embedding, dimension: s.dimension };
  };
  const dimensions = () => {
    const e = app.identity.embeddings.find((x) => x.key === app.store.get().embedding);
    return e ? e.dimensions : [];
  };

  let echoSource = null; // the selection source set by an incoming "select"
  app.on("selection", (sel, source) => {
    const copy = sel.slice(); // transfer a copy: the store keeps its own array
    post("selection", { cells: copy, source: source || echoSource || "clear" }, [copy.buffer]);
  });

  let lastHover = 0, hoverTimer = null, pendingHover;
  app.on("hover", (cell) => {
    pendingHover = cell;
    const now = performance.now();
    const send = () => {
      hoverTimer = null;
      lastHover = performance.now();
      post("hover", { cell: pendingHover ?? null });
    };
    if (now - lastHover >= HOVER_MS && !hoverTimer) send();
    else if (!hoverTimer) hoverTimer = setTimeout(send, HOVER_MS - (now - lastHover));
  });

  app.on("click", (cell, mods) => post("click", { cell: cell ?? null, shift: !!mods.shift, ctrl: !!mods.ctrl }));

  let last = JSON.stringify(stateMsg());
  app.store.subscribe((s, changed) => {
    if (!["colorBy", "embedding", "dimension"].some((k) => changed.has(k))) return;
    const now = JSON.stringify(stateMsg());
    if (now !== last) {
      last = now;
      post("state", stateMsg());
    }
  });

  const handlers = {
    highlight: (p) => addGroup(app, p.group || "python", toCells(p.cells, app.n), p.color || "#ff0000"),
    clear_highlights: () => app.store.set({ highlightGroups: [] }),
    color_by: (p) => app.setColorBy(p.name),
    embedding: (p) => app.setEmbedding(p.key),
    dimension: (p) => app.setDimension(p.dim),
    visibility: (p) => {
      const mask = app.store.get().externalHidden ? app.store.get().externalHidden.slice() : new Uint8Array(app.n);
      for (const i of toCells(p.cells, app.n)) mask[i] = p.visible ? 0 : 1;
      app.store.set({ externalHidden: mask });
    },
    select: (p) => app.select(toCells(p.cells, app.n), "python"),
    reset_view: () => app.resetView(),
  };

  window.addEventListener("message", (event) => {
    const d = event.data;
    if (event.origin !== parentOrigin || !d || d.channel !== "cellucid" || d.token !== token) return;
    const fn = handlers[d.type];
    if (!fn) return;
    try {
      fn(d.payload || {});
    } catch (e) {
      app.fail(e, `host message ${d.type}`);
    }
  });

  app.ready.then(() => post("ready", { n_cells: app.n, dimensions: dimensions(), ...stateMsg() }));
}
