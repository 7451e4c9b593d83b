// DE tab: the selection (or a highlight group) against the rest (or another group); the
// answer as a volcano plot and a filtered, sortable, virtualised table of every gene with a
// CSV download; clicking a gene (row or volcano point) colours the cells by it.
import { h, fmtInt } from "../dom.js";
import { analysisApi } from "../../data/analysis.js";
import { DETable, filteredRows } from "./deTable.js";
import { drawVolcano, volcanoPick } from "./volcano.js";
import { toCSV } from "./csv.js";
import { downloadFile } from "../../page.js";
import { statusLine } from "./status.js";

const CSV_COLUMNS = ["names", "scores", "logfoldchanges", "pvals", "pvals_adj", "pct_nz_group", "pct_nz_reference", "mean_group", "mean_reference"];

/** The cells of a group choice: "selection" or a highlight group's id. */
function cellsOf(app, choice) {
  const s = app.store.get();
  if (choice === "selection") return s.selection;
  const g = s.highlightGroups.find((x) => String(x.id) === choice);
  return g ? g.cells : new Uint32Array(0);
}

function groupLabel(app, choice) {
  if (choice === "rest") return "rest";
  if (choice === "selection") return "selection";
  const g = app.store.get().highlightGroups.find((x) => String(x.id) === choice);
  return g ? g.name : choice;
}

export function deTab(app, st) {
  const groupSel = h("select", { "data-testid": "de-group", "aria-label": "group" });
  const refSel = h("select", { "data-testid": "de-reference", "aria-label": "reference" });
  const methodSel = h("select", { "data-testid": "de-method", "aria-label": "test" }, h("option", { value: "t-test" }, "t-test (Welch)"), h("option", { value: "wilcoxon" }, "Wilcoxon"));
  const fillGroups = () => {
    const s = app.store.get();
    const opts = (first) => [...first, ...s.highlightGroups.map((g) => [String(g.id), `${g.name} (${fmtInt(g.cells.length)})`])];
    for (const [sel, first] of [[groupSel, [["selection", `selection (${fmtInt(s.selection.length)})`]]], [refSel, [["rest", "rest of the cells"]]]]) {
      const keep = sel.value;
      sel.replaceChildren(...opts(first).map(([v, t]) => h("option", { value: v }, t)));
      if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
    }
  };
  fillGroups();
  app.store.subscribe((s, changed) => (changed.has("selection") || changed.has("highlightGroups")) && fillGroups());

  const run = async () => {
    const group = cellsOf(app, groupSel.value);
    const reference = refSel.value === "rest" ? "rest" : cellsOf(app, refSel.value);
    const label = `${groupLabel(app, groupSel.value)} vs ${groupLabel(app, refSel.value)} (${methodSel.value})`;
    const req = st.begin("de", `sending ${fmtInt(group.length)} cells…`);
    try {
      const answer = analysisApi.rankGenes({ group, reference, method: methodSel.value }, req.signal);
      st.progress("de", req, `testing every gene: ${label}…`);
      const res = await answer;
      st.finish("de", req, { ...res, label });
    } catch (e) {
      st.fail("de", req, e);
    }
  };
  const runBtn = h("button", { "data-testid": "de-run", on: { click: run } }, "Run");

  const padj = h("input", { type: "number", min: 0, max: 1, step: "any", value: "1", "data-testid": "de-padj", "aria-label": "largest adjusted p" });
  const lfc = h("input", { type: "number", min: 0, step: "any", value: "0", "data-testid": "de-lfc", "aria-label": "smallest absolute log2 fold change" });
  const readFilters = () => st.set({ padjMax: padj.value === "" ? 1 : Number(padj.value), lfcMin: lfc.value === "" ? 0 : Number(lfc.value) });
  padj.addEventListener("input", readFilters);
  lfc.addEventListener("input", readFilters);

  const count = h("span.muted", { "data-testid": "de-count" });
  const title = h("div.an-title", { "data-testid": "de-title" });
  const volcano = h("canvas", { "data-testid": "de-volcano", title: "click a point to colour the cells by that gene" });
  const colorBy = (name) => app.setColorBy(name, "gene");
  const table = new DETable({
    onGene: colorBy,
    onSort: (key) => {
      const s = st.get();
      st.set(s.sortKey === key ? { sortDesc: !s.sortDesc } : { sortKey: key, sortDesc: key !== "names" && key !== "pvals_adj" });
    },
  });
  let rows = new Int32Array(0);
  const csvBtn = h("button", { "data-testid": "de-csv", title: "download the filtered table as CSV", on: { click: () => saveCSV() } }, "CSV");
  const saveCSV = () => {
    const r = st.get().de.result;
    if (!r) return;
    const names = CSV_COLUMNS.filter((c) => r.columns[c]);
    const safe = r.label.replace(/[^\w.-]+/g, "_").replace(/^_+|_+$/g, "");
    downloadFile(new Blob([toCSV(r.columns, names, rows)], { type: "text/csv" }), `cellucid_de_${safe}.csv`);
  };
  volcano.addEventListener("click", (e) => {
    const r = st.get().de.result;
    const box = volcano.getBoundingClientRect();
    const name = r && volcanoPick(r.columns, e.clientX - box.left, e.clientY - box.top);
    if (name) colorBy(name);
  });
  const result = h("div.an-result", { hidden: true }, title, volcano, h("div.row", {}, count, csvBtn), table.el);

  let shownRes = null, shownFilters = "";
  const render = (s) => {
    const r = s.de.result;
    result.hidden = !r;
    if (!r) return;
    rows = filteredRows(r.columns, s);
    count.textContent = `${fmtInt(rows.length)} of ${fmtInt(r.columns.names.length)} genes`;
    count.dataset.count = String(rows.length);
    title.textContent = r.label;
    table.show(r.columns, rows, s.sortKey, s.sortDesc);
    const filters = `${s.padjMax}|${s.lfcMin}`;
    if (shownRes !== r || shownFilters !== filters) {
      (shownRes = r), (shownFilters = filters);
      drawVolcano(volcano, r.columns, rows);
    }
  };
  st.subscribe((s, changed) => ["de", "padjMax", "lfcMin", "sortKey", "sortDesc"].some((k) => changed.has(k)) && render(s));

  return h(
    "div.an-tab",
    { "data-testid": "analysis-de" },
    h("div.row", {}, h("label", {}, "Group"), groupSel),
    h("div.row", {}, h("label", {}, "vs"), refSel),
    h("div.row", {}, h("label", {}, "Test"), methodSel, runBtn),
    h("div.row", {}, h("label", {}, "padj ≤"), padj, h("label.short", {}, "|log2FC| ≥"), lfc),
    statusLine(st, "de"),
    result,
  );
}
