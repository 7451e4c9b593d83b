// The URL fragment carries the light view state — embedding, dimension, color_by and the
// camera — so a reload (or a shared link) reopens the same view:
//   #embedding=X_umap&dimension=3&color_by=pseudotime&camera=<compact JSON>
// It is rewritten with history.replaceState (no history entries) shortly after each change.
// Heavier state (filters, selection, groups) belongs in a session file.

const DELAY_MS = 250;

/** The fragment's values: {embedding, dimension, colorBy, camera} (missing keys undefined). */
export function readFragment(hash = window.location.hash) {
  const q = new URLSearchParams(hash.replace(/^#/, ""));
  let camera;
  try {
    camera = q.get("camera") ? JSON.parse(q.get("camera")) : undefined;
  } catch (_) {
    camera = undefined; // a hand-edited fragment must not stop the viewer
  }
  return {
    embedding: q.get("embedding") || undefined,
    dimension: q.get("dimension") || undefined,
    colorBy: q.get("color_by") || undefined,
    camera,
  };
}

const round = (x) => (typeof x === "number" ? +x.toPrecision(6) : Array.isArray(x) ? x.map(round) : x);

export function fragmentFor(app) {
  const s = app.store.get();
  const cam = app.camera.snapshot();
  const compact = Object.fromEntries(Object.entries(cam).map(([k, v]) => [k, round(v)]));
  const q = new URLSearchParams();
  if (s.embedding) q.set("embedding", s.embedding);
  q.set("dimension", String(s.dimension));
  // a signature's gene list stays out of the address (sessions keep it)
  if (s.colorBy && s.colorBy.kind !== "signature") q.set("color_by", s.colorBy.name);
  q.set("camera", JSON.stringify(compact));
  return "#" + q.toString();
}

/** Keep the fragment in sync with the view. */
export function syncFragment(app) {
  let timer = null;
  let lastCamera = -1;
  const write = () => {
    timer = null;
    const f = fragmentFor(app);
    if (f === window.location.hash) return;
    try {
      history.replaceState(history.state, "", f);
    } catch (_) {
      /* a page without an address of its own (the widget's comm transport): no fragment */
    }
  };
  const schedule = () => {
    if (!timer) timer = setTimeout(write, DELAY_MS);
  };
  app.store.subscribe((s, changed) => ["embedding", "dimension", "colorBy", "navMode"].some((k) => changed.has(k)) && schedule());
  app.on("frame", () => {
    if (app.camera.version !== lastCamera) {
      lastCamera = app.camera.version;
      schedule();
    }
  });
  schedule();
}

/** Apply the fragment's camera once the view it belongs to is shown. */
export function restoreFragmentCamera(app, frag) {
  const cam = frag.camera;
  if (!cam || typeof cam !== "object" || cam.dim !== app.camera.dim) return;
  try {
    app.camera.restore({ center: [0, 0], target: [0, 0, 0], ...cam });
    app.requestRender();
  } catch (_) {
    /* malformed camera: keep the default view */
  }
}
