// Progressive loading, the viewer's side (data/progressive.js has the plan and the pure
// helpers): after the sample's frame, the remaining cells of an embedding are fetched and
// shown (App.loadGeometry calls streamRest).
import { api } from "../data/client.js";
import { buildGeometry } from "../render/geometry.js";
import { shownGeometry } from "../render/strip1d.js";
import { mark } from "../perf.js";

/**
 * Progressive loading, after the sample's frame: the remaining cells in contiguous ranges,
 * each put in place and drawn (the camera stays where the user put it). Then the colors
 * that came for the sample only are replaced by whole columns.
 */
export async function streamRest(app, key, dim, partial) {
  const label = `Loading ${key} (${dim}D)`;
  const { chunks } = app.plan;
  // The first colors came for the sample only: the whole column is asked for now, beside
  // the ranges, so it is there when the last cells are (one redraw for both).
  // (The sample's colors may still be on their way: this does not wait for them.)
  app.sampleColumns = false;
  const cb = app.store.get().colorBy;
  const sampled = cb && cb.kind === "field" && app.partialColumns.has(`field:${cb.name}`) ? cb.name : null;
  const wholeColors = sampled ? api.field(sampled, app.n).catch(() => null) : null;
  // All ranges are asked for at once (the browser runs up to six at a time), each put in
  // place as it comes. The renderer gets the new cells once no other range arrived for
  // 250 ms, or with the last one: a full frame takes ~1 s at 10M cells on the CPU, and
  // ranges landing together must cost one frame, not one each.
  const parts = chunks.map((cells) => api.embedding(key, dim, cells.stop - cells.start, null, cells));
  parts.forEach((p) => p.catch(() => {})); // (each is awaited below; no unhandled rejection meanwhile)
  let timer = null;
  let raw = null; // the embedding's geometry (app.geom may be its 1D strips)
  const show = () => {
    clearTimeout(timer);
    const s = app.store.get();
    if (s.embedding !== key || s.dimension !== dim) return;
    raw = buildGeometry({ data: partial.positions, dim, bounds: partial.bounds }, app.n, partial);
    app.geom = shownGeometry(app, raw); // 1D: density strips per category
    app.renderer.setGeometry(app.geom, app.n);
    app.recomputeHidden(false);
    performance.mark("cellucid:cells-loaded", { detail: { cells: app.n - partial.nInvalid, n: app.n } });
  };
  for (let c = 0; c < chunks.length; c++) {
    const part = await parts[c];
    const s = app.store.get();
    if (s.embedding !== key || s.dimension !== dim) return clearTimeout(timer); // superseded: loads again when shown
    partial.add(part.data, chunks[c]);
    app.progress(label, (c + 1) / chunks.length);
    clearTimeout(timer);
    if (c < chunks.length - 1) timer = setTimeout(show, 250);
  }
  for (const k of app.partialColumns) app.columns.delete(k);
  app.partialColumns.clear();
  const whole = wholeColors && (await wholeColors);
  if (whole) app.columns.set(`field:${sampled}`, whole);
  const now = app.store.get().colorBy;
  if (now && app.colorColumn && app.colorColumn.partial && now.name === app.colorColumn.name) {
    await app.loadColor(now); // the whole column (fetched again if the request above failed)
  }
  show();
  if (raw) app.geomCache.set(`${key}|${dim}`, raw);
  app.progress("", 1);
  mark("all-cells");
}
