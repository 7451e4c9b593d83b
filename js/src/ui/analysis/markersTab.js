// Markers tab: every category of a categorical field (the one the cells are coloured by, when
// categorical) against the rest; the top genes of each category listed, and a dot plot of
// those genes over all categories (mean expression × fraction expressing).
import { h } from "../dom.js";
import { analysisApi } from "../../data/analysis.js";
import { dotPlot } from "./plots.js";
import { statusLine, showResult } from "./status.js";

export function categoricalFields(app) {
  return app.identity.fields.filter((f) => f.kind !== "continuous").map((f) => f.name);
}

/** The field the cells are coloured by when categorical, else the dataset's default one. */
export function currentCategorical(app) {
  const cb = app.store.get().colorBy;
  const fields = categoricalFields(app);
  if (cb && cb.kind === "field" && fields.includes(cb.name)) return cb.name;
  return fields.includes(app.identity.default_field) ? app.identity.default_field : fields[0] || "";
}

export function fieldSelect(app, testid) {
  const sel = h("select", { "data-testid": testid, "aria-label": "categorical field" }, categoricalFields(app).map((f) => h("option", { value: f }, f)));
  sel.value = currentCategorical(app);
  // follow the colouring while the user has not picked a field here
  let picked = false;
  sel.addEventListener("change", () => (picked = true));
  app.store.subscribe((s, changed) => changed.has("colorBy") && !picked && (sel.value = currentCategorical(app)));
  return sel;
}

/** Top genes per group from a markers answer (rows are grouped, each group's sorted by score). */
export function topGenes(ans) {
  const per = new Map(ans.groups.map((g) => [g, []]));
  ans.columns.group.forEach((g, i) => per.get(g).push(ans.columns.names[i]));
  return per;
}

export function markersTab(app, st) {
  const fieldSel = fieldSelect(app, "markers-field");
  const nTop = h("input", { type: "number", min: 1, max: 20, value: "3", "data-testid": "markers-n", "aria-label": "genes per category" });
  const methodSel = h("select", { "data-testid": "markers-method", "aria-label": "test" }, h("option", { value: "t-test" }, "t-test"), h("option", { value: "wilcoxon" }, "Wilcoxon"));

  const run = async () => {
    const field = fieldSel.value;
    const n = Math.max(1, Math.min(20, Number(nTop.value) || 3));
    const req = st.begin("markers", `marker genes of every ${field} category…`);
    try {
      const ans = await analysisApi.markers(field, methodSel.value, n, req.signal);
      if (!req.current()) return;
      const per = topGenes(ans);
      const genes = [...new Set([...per.values()].flat())];
      st.progress("markers", req, `mean expression of ${genes.length} genes per category…`);
      const dots = await analysisApi.dotplot(field, genes, req.signal);
      st.finish("markers", req, { field, per, dots });
    } catch (e) {
      st.fail("markers", req, e);
    }
  };

  const list = h("div.an-list", { "data-testid": "markers-list" });
  const plot = h("div.an-plot");
  const result = h("div.an-result", { hidden: true }, plot, list);
  showResult(st, "markers", result, (r) => {
    plot.replaceChildren(dotPlot(r.dots));
    list.replaceChildren(
      ...[...r.per].map(([g, genes]) =>
        h(
          "div.an-marker",
          { "data-testid": "marker-group", "data-group": g, "data-genes": genes.join(",") },
          h("b", {}, g),
          ": ",
          genes.flatMap((name, i) => [i ? ", " : "", h("a.gene", { href: "#", "data-gene": name, on: { click: (e) => (e.preventDefault(), app.setColorBy(name, "gene")) } }, name)]),
        ),
      ),
    );
  });

  return h(
    "div.an-tab",
    { "data-testid": "analysis-markers" },
    h("div.row", {}, h("label", {}, "Field"), fieldSel),
    h("div.row", {}, h("label", {}, "Genes"), nTop, methodSel, h("button", { "data-testid": "markers-run", on: { click: run } }, "Run")),
    statusLine(st, "markers"),
    result,
  );
}
