// The DE table: every gene of a rank_genes answer, filtered (adjusted p, |log2 fold change|),
// sortable by any column, and virtualised — only the rows in view are in the DOM, so 20k genes
// scroll as smoothly as 20. Clicking a row calls `onGene(name)`.
import { h, fmt } from "../dom.js";

const ROW_PX = 22;
const OVERSCAN = 6;
export const DE_COLUMNS = [
  ["names", "gene"],
  ["scores", "score"],
  ["logfoldchanges", "log2FC"],
  ["pvals_adj", "padj"],
  ["pct_nz_group", "% grp"],
  ["pct_nz_reference", "% ref"],
];

/**
 * Row indices that pass the filters, sorted by `sortKey` (NaN and null last whatever the
 * direction; ties keep the server's order, which is by score).
 */
export function filteredRows(cols, { padjMax = 1, lfcMin = 0, sortKey = "scores", sortDesc = true } = {}) {
  const n = cols.names.length;
  const padj = cols.pvals_adj, lfc = cols.logfoldchanges;
  const keep = [];
  for (let i = 0; i < n; i++) {
    if (padjMax < 1 && !(padj[i] != null && padj[i] <= padjMax)) continue;
    if (lfcMin > 0 && !(lfc[i] != null && Math.abs(lfc[i]) >= lfcMin)) continue;
    keep.push(i);
  }
  const v = cols[sortKey];
  const sign = sortDesc ? -1 : 1;
  const missing = (x) => x == null || (typeof x === "number" && !Number.isFinite(x));
  keep.sort((a, b) => {
    const x = v[a], y = v[b];
    const mx = missing(x), my = missing(y);
    if (mx || my) return mx === my ? a - b : mx ? 1 : -1;
    if (x === y) return a - b;
    return (typeof x === "string" ? x.localeCompare(y) : x < y ? -1 : 1) * sign;
  });
  return Int32Array.from(keep);
}

export class DETable {
  constructor({ onGene, onSort }) {
    this.onGene = onGene;
    this.onSort = onSort;
    this.cols = null;
    this.rows = new Int32Array(0);
    this.header = h(
      "div.de-head",
      { role: "row" },
      DE_COLUMNS.map(([key, label]) =>
        h("button.de-cell", { "data-testid": `de-sort-${key}`, "data-key": key, title: `sort by ${label}`, on: { click: () => this.onSort(key) } }, label),
      ),
    );
    this.spacer = h("div.de-spacer");
    this.body = h("div.de-rows");
    this.scroller = h("div.de-scroll", { "data-testid": "de-table", role: "grid", tabindex: 0 }, this.spacer, this.body);
    this.scroller.addEventListener("scroll", () => this.paint());
    this.el = h("div.de-table", {}, this.header, this.scroller);
  }

  /** Show `rows` (indices into `cols`), marking the sorted column. */
  show(cols, rows, sortKey, sortDesc) {
    this.cols = cols;
    this.rows = rows;
    for (const b of this.header.children) b.dataset.sorted = b.dataset.key === sortKey ? (sortDesc ? "desc" : "asc") : "";
    this.spacer.style.height = `${rows.length * ROW_PX}px`;
    this.painted = null;
    this.paint();
  }

  /** Build the DOM rows in view (and a few around them). */
  paint() {
    const cols = this.cols;
    if (!cols) return;
    const top = this.scroller.scrollTop;
    const height = this.scroller.clientHeight || 300;
    const first = Math.max(0, Math.floor(top / ROW_PX) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((top + height) / ROW_PX) + OVERSCAN);
    const key = `${first}:${last}`;
    if (this.painted === key) return;
    this.painted = key;
    const out = [];
    for (let k = first; k < last; k++) {
      const i = this.rows[k];
      const name = cols.names[i];
      out.push(
        h(
          "div.de-row",
          {
            role: "row",
            "data-testid": "de-row",
            "data-name": name,
            "data-score": cols.scores[i] == null ? "" : String(cols.scores[i]),
            style: { top: `${k * ROW_PX}px` },
            title: `color the cells by ${name}`,
            tabindex: 0,
            on: { click: () => this.onGene(name), keydown: (e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), this.onGene(name)) },
          },
          DE_COLUMNS.map(([c]) => h("span.de-cell", {}, c === "names" ? name : c.startsWith("pct") ? fmt(100 * cols[c][i]) : fmt(cols[c][i]))),
        ),
      );
    }
    this.body.replaceChildren(...out);
  }
}
