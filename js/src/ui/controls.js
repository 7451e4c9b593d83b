// Sidebar: dataset header, embedding, color-by field + gene search, appearance sliders.
import { h, fmtInt } from "./dom.js";
import { api } from "../data/client.js";

export function mountControls(app, dom) {
  const id = app.identity;
  const { store } = app;
  const s0 = store.get();

  const embSel = h(
    "select",
    { "data-testid": "embedding", "aria-label": "embedding", on: { change: () => app.setEmbedding(embSel.value) } },
    id.embeddings.map((e) => h("option", { value: e.key }, `${e.name} (${e.key})`)),
  );

  const fieldSel = h(
    "select",
    { "data-testid": "color-by", "aria-label": "color by obs field", on: { change: () => fieldSel.value && app.setColorBy(fieldSel.value, "field") } },
    h("option", { value: "" }, "— gene —"),
    id.fields.map((f) => h("option", { value: f.name }, `${f.name}${f.kind === "continuous" ? " (#)" : ""}`)),
  );

  const geneBox = geneSearch(app);

  const size = h("input", { type: "range", min: 0.5, max: 20, step: 0.5, value: s0.pointSize, "data-testid": "point-size", "aria-label": "point size", on: { input: () => store.set({ pointSize: +size.value }) } });
  const opacity = h("input", { type: "range", min: 0.05, max: 1, step: 0.05, value: s0.opacity, "data-testid": "opacity", "aria-label": "point opacity", on: { input: () => store.set({ opacity: +opacity.value }) } });
  const theme = h(
    "select",
    { "data-testid": "theme", "aria-label": "color theme", on: { change: () => store.set({ theme: theme.value }) } },
    h("option", { value: "light" }, "light"),
    h("option", { value: "dark" }, "dark"),
  );

  const genesNote = id.genes && !id.genes.available ? h("div.muted", {}, `No genes: ${id.genes.reason || "the dataset has no expression matrix"}`) : null;

  dom.sidebar.append(
    h(
      "div.brand",
      {},
      h("b", {}, "cellucid"),
      h("span", { title: id.name }, id.name),
    ),
    h("div.muted", {}, `${fmtInt(id.stats.n_cells)} cells · ${fmtInt(id.stats.n_genes || 0)} genes · ${id.source_kind}`),
    h("section.section", {}, h("h3", {}, "View"), h("div.row", {}, h("label", {}, "Embedding"), embSel)),
    h(
      "section.section",
      {},
      h("h3", {}, "Color"),
      h("div.row", {}, h("label", {}, "Field"), fieldSel),
      id.genes && id.genes.available ? h("div.row", {}, h("label", {}, "Gene"), geneBox) : genesNote,
    ),
    h(
      "section.section",
      {},
      h("h3", {}, "Appearance"),
      h("div.row", {}, h("label", {}, "Point size"), size),
      h("div.row", {}, h("label", {}, "Opacity"), opacity),
      h("div.row", {}, h("label", {}, "Theme"), theme),
    ),
  );

  const sync = (s) => {
    embSel.value = s.embedding || "";
    fieldSel.value = s.colorBy && s.colorBy.kind === "field" ? s.colorBy.name : "";
    if (document.activeElement !== geneBox.input) geneBox.input.value = s.colorBy && s.colorBy.kind === "gene" ? s.colorBy.name : "";
    size.value = s.pointSize;
    opacity.value = s.opacity;
    theme.value = s.theme;
  };
  store.subscribe(sync);
  sync(store.get());
}

/** Gene search box with suggestions from /_cellucid/api/genes; Enter colors by the gene. */
function geneSearch(app) {
  const input = h("input", { type: "search", placeholder: "search genes…", "data-testid": "gene-search", "aria-label": "color by gene: search", autocomplete: "off" });
  const list = h("ul", { "data-testid": "gene-suggestions", role: "listbox", "aria-label": "gene suggestions" });
  const box = h("div.suggest", { style: { flex: "1" } }, input, list);
  box.input = input;
  let hits = [];
  let active = -1;
  let seq = 0;
  const choose = (name) => {
    list.replaceChildren();
    input.value = name;
    app.setColorBy(name, "gene");
  };
  const render = () =>
    list.replaceChildren(
      ...hits.map((g, i) =>
        h("li", { class: i === active ? "active" : "", on: { mousedown: (e) => (e.preventDefault(), choose(g.name)) } }, g.name, g.id && g.id !== g.name ? h("small", {}, g.id) : null),
      ),
    );
  input.addEventListener("input", async () => {
    const q = input.value.trim();
    const my = ++seq;
    if (!q) {
      hits = [];
      render();
      return;
    }
    try {
      const r = await api.searchGenes(q, 20);
      if (my !== seq) return;
      hits = r.genes;
      active = hits.length ? 0 : -1;
      render();
    } catch (e) {
      app.fail(e, "gene search failed");
    }
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (hits.length) active = (active + (e.key === "ArrowDown" ? 1 : hits.length - 1)) % hits.length;
      render();
    } else if (e.key === "Enter") {
      e.preventDefault();
      const q = input.value.trim();
      if (active >= 0 && hits[active]) choose(hits[active].name);
      else if (q) choose(q);
    } else if (e.key === "Escape") {
      list.replaceChildren();
      input.blur();
    }
  });
  input.addEventListener("blur", () => setTimeout(() => list.replaceChildren(), 150));
  return box;
}
