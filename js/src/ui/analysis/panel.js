// The Analysis panel: a button in the sidebar opens a floating panel over the embedding with
// one tab per analysis (DE, markers, signature, correlation, violin). State in
// state/analysis.js, requests in data/analysis.js, each tab in its own module here.
import { h } from "../dom.js";
import { AnalysisStore } from "../../state/analysis.js";
import { deTab } from "./deTab.js";
import { markersTab } from "./markersTab.js";
import { signatureTab, correlationTab, violinTab } from "./valueTabs.js";

const TABS = [
  ["de", "DE", deTab],
  ["markers", "Markers", markersTab],
  ["signature", "Signature", signatureTab],
  ["correlation", "Correlation", correlationTab],
  ["violin", "Violin", violinTab],
];

export function mountAnalysis(app, dom) {
  if (!app.identity.genes || !app.identity.genes.available) return null; // every analysis needs genes
  const st = new AnalysisStore();
  const bodies = Object.fromEntries(TABS.map(([key, , make]) => [key, make(app, st)]));
  const tabBtns = TABS.map(([key, label]) => h("button", { "data-testid": `analysis-tab-${key}`, role: "tab", on: { click: () => st.set({ tab: key }) } }, label));
  const close = h("button", { "aria-label": "close the analysis panel", "data-testid": "analysis-close", on: { click: () => st.set({ open: false }) } }, "×");
  const panel = h("div.analysis-panel", { "data-testid": "analysis-panel", hidden: true, role: "dialog", "aria-label": "analysis" }, h("div.an-tabs", { role: "tablist" }, tabBtns, close), Object.values(bodies));
  dom.stage.append(panel);
  const open = h("button", { "data-testid": "analysis-open", title: "differential expression, marker genes, signatures, correlation", on: { click: () => st.set({ open: !st.get().open }) } }, "Analysis panel");
  dom.sidebar.append(h("section.section", {}, h("h3", {}, "Analysis"), h("div.row", {}, open)));
  const paint = (s) => {
    panel.hidden = !s.open;
    open.classList.toggle("active", s.open);
    TABS.forEach(([key], i) => {
      bodies[key].hidden = key !== s.tab;
      tabBtns[i].classList.toggle("active", key === s.tab);
      tabBtns[i].setAttribute("aria-selected", String(key === s.tab));
    });
  };
  st.subscribe((s, changed) => (changed.has("open") || changed.has("tab")) && paint(s));
  paint(st.get());
  const api = { store: st, open: (tab = st.get().tab) => st.set({ open: true, tab }) };
  if (window.cellucid) window.cellucid.analysis = api;
  return api;
}
