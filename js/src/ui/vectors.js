// Side-panel section for the vector field overlay: on/off, which field, particle count,
// speed, trail length and color. When the dataset has vectors only for another dimension or
// embedding it says so; without any vector field the toggle is disabled with the reason.
import { h } from "./dom.js";
import { reducedMotion } from "../state/vectorFields.js";

export function mountVectorPanel(app, dom) {
  const { store } = app;
  const toggle = h("input", { type: "checkbox", id: "vec-on", "data-testid": "vector-toggle", "aria-label": "show the vector field overlay", on: { change: () => store.set({ vectors: toggle.checked }) } });
  const field = h("select", { "data-testid": "vector-field", "aria-label": "vector field", on: { change: () => store.set({ vectorField: field.value }) } });
  const param = (key, attrs, label, parse = Number) => {
    const el = h("input", {
      ...attrs,
      "data-testid": `vector-${key}`,
      "aria-label": label,
      on: { input: () => store.set({ vectorParams: { ...store.get().vectorParams, [key]: parse(el.value) } }) },
    });
    return el;
  };
  const count = param("count", { type: "range", min: 200, max: 20000, step: 100 }, "number of particles");
  const speed = param("speed", { type: "range", min: 0.25, max: 4, step: 0.25 }, "particle speed");
  const trail = param("trail", { type: "range", min: 0, max: 1, step: 0.05 }, "trail length");
  const color = param("color", { type: "color" }, "particle color", String);
  const autoColor = h("button", { "data-testid": "vector-color-auto", title: "particle color follows the theme", "aria-label": "particle color follows the theme", on: { click: () => store.set({ vectorParams: { ...store.get().vectorParams, color: "auto" } }) } }, "auto");
  const note = h("div.muted", { "data-testid": "vector-note", role: "status" });
  const controls = h(
    "div",
    { "data-testid": "vector-controls" },
    h("div.row", {}, h("label", {}, "Field"), field),
    h("div.row", {}, h("label", {}, "Particles"), count),
    h("div.row", {}, h("label", {}, "Speed"), speed),
    h("div.row", {}, h("label", {}, "Trail"), trail),
    h("div.row", {}, h("label", {}, "Color"), color, autoColor),
  );
  dom.sidebar.append(
    h(
      "section.section",
      { "data-testid": "vector-panel" },
      h("h3", {}, "Vector field"),
      h("div.row", {}, toggle, h("label", { for: "vec-on", style: { width: "auto" } }, "animate particles (G)")),
      note,
      controls,
    ),
  );

  const sync = (s) => {
    const ids = app.vectors.fields();
    const problem = app.vectors.problem();
    toggle.disabled = !ids.length;
    toggle.checked = !!s.vectors && ids.length > 0;
    const labels = (app.identity.vector_fields && app.identity.vector_fields.fields) || {};
    field.replaceChildren(...ids.map((id) => h("option", { value: id }, labels[id] && labels[id].label ? `${labels[id].label} (${id})` : id)));
    field.value = app.vectors.field() || "";
    controls.hidden = !ids.length;
    const p = s.vectorParams;
    count.value = p.count;
    speed.value = p.speed;
    trail.value = p.trail;
    color.value = p.color === "auto" ? (s.theme === "dark" ? "#ebebf5" : "#14141e") : p.color;
    let text = problem ? problem.message : "";
    if (!problem && s.vectors && reducedMotion()) text = "Reduced motion is on (system setting): streamlines are drawn still, not animated.";
    note.textContent = text;
    note.hidden = !text;
  };
  store.subscribe(sync);
  sync(store.get());
}
