// postMessage bridge to a host page (the Jupyter widget), exactly as in docs/http-api.md.
// Active only with ?embed=1&token=..&parent_origin=..; every incoming message must come from
// the parent window at parent_origin and carry the token; every outgoing message goes only
// to parent_origin.
import { addGroup } from "../state/groups.js";
import { pageSearch } from "../page.js";
import { restoreSession, sessionObject } from "../state/session.js";
import { selectCells } from "../state/selection.js";

const HOVER_MS = 50; // ≤ 20 hover messages per second
const SESSION_MS = 250; // the pushed session trails the last change by this much
// store keys that are part of the session (hover, tool, ... are not: no push for them)
const SESSION_KEYS = new Set([
  "embedding", "dimension", "navMode", "colorBy", "colormap", "clip", "range", "hiddenCategories", "filters",
  "selection", "groupPages", "activePage", "highlightGroups", "vectors", "vectorField", "vectorParams",
  "proximityRadius", "knnK", "cvd", "pointSize", "opacity", "theme", "views", "layout", "linkCameras",
]);

/** The session object with its cell lists as Uint32Arrays (sent as binary, never as JSON lists). */
export function binarySession(app) {
  const o = sessionObject(app);
  o.selection = app.store.get().selection.slice();
  const groups = app.store.get().highlightGroups;
  o.highlight_groups = o.highlight_groups.map((g, i) => ({ ...g, cells: groups[i].cells.slice() }));
  return o;
}

function sessionTransfer(o) {
  return [o.selection.buffer, ...o.highlight_groups.map((g) => g.cells.buffer)];
}

/** Read the bridge parameters from the page URL; null when not embedded. */
export function bridgeParams(search = pageSearch()) {
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
    // a signature is not a name Python could send back (it would be tried as a gene)
    const named = s.colorBy && (s.colorBy.kind === "field" || s.colorBy.kind === "gene");
    return { color_by: named ? s.colorBy.name : null, embedding: s.embedding, dimension: s.dimension };
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

  // The full session, pushed after every change (and on request), so the host always holds
  // the latest one: saving it never has to wait for a round trip.
  let sessionTimer = null, lastCamera = "", started = false;
  const pushSession = (requestId = null) => {
    if (!started) return; // before "ready" there is no dataset identity yet
    const session = binarySession(app);
    lastCamera = JSON.stringify(session.camera);
    post("session", { request_id: requestId, session }, sessionTransfer(session));
  };
  const scheduleSession = () => {
    if (sessionTimer) clearTimeout(sessionTimer);
    sessionTimer = setTimeout(() => ((sessionTimer = null), pushSession()), SESSION_MS);
  };
  app.store.subscribe((s, changed) => {
    if ([...changed].some((k) => SESSION_KEYS.has(k))) scheduleSession();
  });
  // the camera is not in the store: compare its snapshot after each drawn frame (cheap, small);
  // while the user orbits, every frame restarts the timer, so one push follows the movement
  app.on("frame", () => {
    if (started && JSON.stringify(app.camera.snapshot()) !== lastCamera) scheduleSession();
  });

  // the views (ui/views.js) as Python's `viewer.views` / `viewer.layout` read them
  const viewsMsg = () => {
    const d = app.viewManager.describe();
    return { views: d.views.map(({ camera, ...v }) => v), layout: d.layout, link_cameras: d.link_cameras };
  };
  app.store.subscribe((s, changed) => {
    if (started && ["views", "layout", "linkCameras"].some((k) => changed.has(k))) post("views", viewsMsg());
  });
  const viewCommand = (fn) => (p) => {
    try {
      fn(p);
    } catch (e) {
      // a refused command (too many views, unknown embedding) is said in the page and to the host
      app.emit("error", e.message, "");
      post("view_error", { message: e.message, request: p });
    }
  };

  const handlers = {
    snapshot: viewCommand((p) => app.viewManager.snapshot({ id: p.id, name: p.name, colorBy: p.color_by, embedding: p.embedding, dimension: p.dimension })),
    remove_view: viewCommand((p) => app.viewManager.removeView(p.id)),
    layout: viewCommand((p) => app.viewManager.setLayout(p.layout)),
    link_cameras: viewCommand((p) => app.viewManager.setLinkCameras(p.on)),
    get_session: (p) => pushSession(p.request_id ?? null),
    set_session: async (p) => {
      try {
        await restoreSession(app, p.session);
        post("session_restored", { request_id: p.request_id ?? null, ok: true });
      } catch (e) {
        // refused (other dataset, not a session): the viewer keeps its state and says why
        post("session_restored", { request_id: p.request_id ?? null, ok: false, error: e.message, hint: e.hint || "" });
        app.emit("error", `Session not restored: ${e.message}`, e.hint || "");
      }
    },
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
    select: (p) => selectCells(app.store, toCells(p.cells, app.n), "python"),
    reset_view: () => app.resetView(),
  };

  window.addEventListener("message", (event) => {
    const d = event.data;
    // parent_origin "*": the widget's own page has an opaque origin (a sandboxed output
    // frame); the token and the sending window still have to match
    if (event.source !== window.parent || (parentOrigin !== "*" && event.origin !== parentOrigin)) return;
    if (!d || d.channel !== "cellucid" || d.token !== token) return;
    const fn = handlers[d.type];
    if (!fn) return;
    try {
      const r = fn(d.payload || {});
      if (r && r.catch) r.catch((e) => app.fail(e, `host message ${d.type}`));
    } catch (e) {
      app.fail(e, `host message ${d.type}`);
    }
  });

  app.ready.then(() => {
    started = true;
    post("ready", { n_cells: app.n, dimensions: dimensions(), dataset_id: app.identity.id, ...stateMsg() });
    post("views", viewsMsg());
    pushSession();
  });
}
