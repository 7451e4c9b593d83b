// Status line: visible / selected counts and the hovered cell.
import { fmtInt } from "./dom.js";

export function mountStatus(app, dom) {
  const render = () => {
    const s = app.store.get();
    const parts = [`${fmtInt(app.visibleCount)} / ${fmtInt(app.n)} cells`];
    if (s.selection.length) parts.push(`${fmtInt(s.selection.length)} selected`);
    if (s.hover != null) parts.push(`cell #${s.hover}`);
    dom.status.textContent = parts.join(" · ");
  };
  app.on("colors", render);
  app.store.subscribe((s, changed) => (changed.has("selection") || changed.has("hover")) && render());
  render();
}
