// Accessibility helpers: the color-vision preview (an SVG color-matrix filter over the stage,
// simulating deuteranopia / protanopia / tritanopia with the Machado et al. 2009 matrices at
// full severity, in linear RGB) and its select in the Appearance section.
import { h } from "./dom.js";

const MATRICES = {
  protanopia: [0.152286, 1.052583, -0.204868, 0.114503, 0.786281, 0.099216, -0.003882, -0.048116, 1.051998],
  deuteranopia: [0.367322, 0.860646, -0.227968, 0.280085, 0.672501, 0.047413, -0.01182, 0.04294, 0.968881],
  tritanopia: [1.255528, -0.076749, -0.178779, -0.078411, 0.930809, 0.147602, 0.004733, 0.691367, 0.3039],
};

function filterDefs() {
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("width", "0");
  svg.setAttribute("height", "0");
  svg.style.position = "absolute";
  for (const [name, m] of Object.entries(MATRICES)) {
    const f = document.createElementNS(NS, "filter");
    f.id = `cvd-${name}`;
    f.setAttribute("color-interpolation-filters", "linearRGB");
    const cm = document.createElementNS(NS, "feColorMatrix");
    cm.setAttribute("type", "matrix");
    const rows = [0, 1, 2].map((r) => `${m[3 * r]} ${m[3 * r + 1]} ${m[3 * r + 2]} 0 0`);
    cm.setAttribute("values", `${rows.join(" ")} 0 0 0 1 0`);
    f.append(cm);
    svg.append(f);
  }
  return svg;
}

export function mountAccessibility(app, dom) {
  document.body.append(filterDefs());
  const sel = h(
    "select",
    { "data-testid": "cvd", "aria-label": "color-vision preview", title: "preview the view as seen with a color-vision deficiency", on: { change: () => app.store.set({ cvd: sel.value }) } },
    ["none", "deuteranopia", "protanopia", "tritanopia"].map((m) => h("option", { value: m }, m)),
  );
  // next to the theme select in the Appearance section
  const theme = dom.sidebar.querySelector("[data-testid=theme]");
  const row = h("div.row", {}, h("label", {}, "Vision"), sel);
  if (theme) theme.closest(".row").after(row);
  else dom.sidebar.append(row);
  const apply = (s) => {
    sel.value = s.cvd;
    dom.stage.style.filter = s.cvd && s.cvd !== "none" ? `url(#cvd-${s.cvd})` : "";
    dom.stage.dataset.cvd = s.cvd;
  };
  app.store.subscribe((s, changed) => changed.has("cvd") && apply(s));
  apply(app.store.get());
}
