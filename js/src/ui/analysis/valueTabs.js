// Signature, correlation and violin tabs: a pasted gene list as a continuous colour, a scatter
// of two genes or continuous fields with r and p (scipy, on the server), and a violin/box of a
// gene or continuous field per category.
import { h, fmt, fmtInt } from "../dom.js";
import { analysisApi, signatureColumn, signatureKey } from "../../data/analysis.js";
import { drawScatter, violinStats, drawViolins, violinTable } from "./plots.js";
import { fieldSelect } from "./markersTab.js";
import { statusLine, showResult } from "./status.js";

let signatures = 0;

/** A gene or continuous field by name, as the app loads it (cached, shared with colouring). */
function valueColumn(app, name) {
  const f = app.identity.fields.find((x) => x.name === name);
  if (f && f.kind !== "continuous") return Promise.reject(Object.assign(new Error(`${name} is a categorical field`), { hint: "use a gene or a continuous field" }));
  return app.column(f ? "field" : "gene", name);
}

function valueInput(app, testid, placeholder) {
  const id = `an-values-${testid}`;
  const list = h("datalist", { id }, app.identity.fields.filter((f) => f.kind === "continuous").map((f) => h("option", { value: f.name })));
  return [h("input", { type: "text", list: id, placeholder, "data-testid": testid, "aria-label": placeholder }), list];
}

export function signatureTab(app, st) {
  const genes = h("textarea", { rows: 4, placeholder: "paste genes: CD3E, CD8A, …", "data-testid": "sig-genes", "aria-label": "gene list" });
  const methodSel = h("select", { "data-testid": "sig-method", "aria-label": "score" }, h("option", { value: "mean" }, "mean"), h("option", { value: "zscore" }, "mean z-score"));
  const run = async () => {
    const names = genes.value.split(/[\s,;]+/).filter(Boolean);
    const req = st.begin("signature", `scoring ${names.length} genes…`);
    try {
      const ans = await analysisApi.signature(names, methodSel.value, req.signal);
      const label = `signature ${++signatures} (${ans.genes.length} genes)`;
      if (!st.finish("signature", req, { ...ans, label, values: null })) return;
      const spec = { genes: ans.genes, method: methodSel.value };
      app.columns.set(signatureKey(spec), signatureColumn(label, ans, spec));
      app.setColorBy(label, "signature", spec);
    } catch (e) {
      st.fail("signature", req, e);
    }
  };
  const info = h("div.an-result", { "data-testid": "sig-result", hidden: true });
  showResult(st, "signature", info, (r) => {
    info.replaceChildren(
      h("div", { "data-testid": "sig-used" }, `${r.label}: colouring by the ${r.genes.length} genes found`),
      r.unknown.length ? h("div.error", { "data-testid": "sig-unknown", "data-genes": r.unknown.join(",") }, `not in the data (left out): ${r.unknown.join(", ")}`) : null,
    );
  });
  return h(
    "div.an-tab",
    { "data-testid": "analysis-signature" },
    genes,
    h("div.row", {}, h("label", {}, "Score"), methodSel, h("button", { "data-testid": "sig-run", on: { click: run } }, "Colour by score")),
    statusLine(st, "signature"),
    info,
  );
}

export function correlationTab(app, st) {
  const [x, xl] = valueInput(app, "corr-x", "x: gene or field");
  const [y, yl] = valueInput(app, "corr-y", "y: gene or field");
  const methodSel = h("select", { "data-testid": "corr-method", "aria-label": "correlation" }, h("option", { value: "pearson" }, "Pearson"), h("option", { value: "spearman" }, "Spearman"));
  const canvas = h("canvas", { "data-testid": "corr-scatter" });
  const stats = h("div", { "data-testid": "corr-stats" });
  const result = h("div.an-result", { hidden: true }, stats, canvas);
  const run = async () => {
    const [xn, yn] = [x.value.trim(), y.value.trim()];
    const req = st.begin("correlation", `correlating ${xn} and ${yn}…`);
    try {
      const [r, xc, yc] = await Promise.all([analysisApi.correlation(xn, yn, methodSel.value, req.signal), valueColumn(app, xn), valueColumn(app, yn)]);
      st.finish("correlation", req, { ...r, xv: xc.values, yv: yc.values });
    } catch (e) {
      st.fail("correlation", req, e);
    }
  };
  showResult(st, "correlation", result, (r) => {
    stats.dataset.r = String(r.r);
    stats.dataset.p = String(r.p);
    stats.textContent = `${r.method} r = ${fmt(r.r)}, p = ${fmt(r.p)}, n = ${fmtInt(r.n)} cells`;
    drawScatter(canvas, r.xv, r.yv, r.x, r.y);
  });
  return h(
    "div.an-tab",
    { "data-testid": "analysis-correlation" },
    h("div.row", {}, x, xl),
    h("div.row", {}, y, yl),
    h("div.row", {}, methodSel, h("button", { "data-testid": "corr-run", on: { click: run } }, "Run")),
    statusLine(st, "correlation"),
    result,
  );
}

export function violinTab(app, st) {
  const [value, vl] = valueInput(app, "violin-value", "gene or continuous field");
  const fieldSel = fieldSelect(app, "violin-field");
  const canvas = h("canvas", { "data-testid": "violin-plot" });
  const table = h("div");
  const result = h("div.an-result", { hidden: true }, canvas, table);
  const run = async () => {
    const name = value.value.trim();
    const req = st.begin("violin", `loading ${name}…`);
    try {
      const [vc, fc] = await Promise.all([valueColumn(app, name), app.column("field", fieldSel.value)]);
      if (!req.current()) return;
      st.progress("violin", req, `distribution per ${fieldSel.value} category…`);
      const stats = await violinStats(vc.values, fc.codes, fc.categories, fc.missing, req.current);
      st.finish("violin", req, { name, field: fieldSel.value, stats });
    } catch (e) {
      st.fail("violin", req, e);
    }
  };
  showResult(st, "violin", result, (r) => {
    drawViolins(canvas, r.stats, r.name);
    table.replaceChildren(violinTable(r.stats));
  });
  return h(
    "div.an-tab",
    { "data-testid": "analysis-violin" },
    h("div.row", {}, value, vl),
    h("div.row", {}, h("label", {}, "per"), fieldSel, h("button", { "data-testid": "violin-run", on: { click: run } }, "Run")),
    statusLine(st, "violin"),
    result,
  );
}
