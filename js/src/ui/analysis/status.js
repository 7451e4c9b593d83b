// The status line of one kind of analysis: what is running and for how long (ticking every
// 0.2 s while it runs, with an indeterminate bar), or the error with its hint.
import { h } from "../dom.js";

export function statusLine(st, kind) {
  const text = h("span", {});
  const bar = h("div.an-bar", { hidden: true }, h("div"));
  const el = h("div.an-status", { "data-testid": `${kind}-status`, role: "status", "aria-live": "polite" }, bar, text);
  let timer = null;
  const paint = () => {
    const k = st.get()[kind];
    el.dataset.state = k.status;
    bar.hidden = k.status !== "running";
    if (k.status === "running") text.textContent = `${k.label} ${((performance.now() - k.started) / 1000).toFixed(1)} s`;
    else if (k.status === "error") text.replaceChildren(h("span.error", {}, k.error), k.hint ? h("span.muted", {}, ` — ${k.hint}`) : "");
    else text.textContent = "";
  };
  st.subscribe((s, changed) => {
    if (!changed.has(kind)) return;
    clearInterval(timer);
    if (s[kind].status === "running") timer = setInterval(paint, 200);
    paint();
  });
  paint();
  return el;
}

/** A tab's result box: hidden while there is no result of `kind`, `paint(result)` on each new one. */
export function showResult(st, kind, box, paint) {
  st.subscribe((s, changed) => {
    if (!changed.has(kind)) return;
    const r = s[kind].result;
    box.hidden = !r;
    if (r) paint(r);
  });
}
