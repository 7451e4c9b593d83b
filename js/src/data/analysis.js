// Requests of the Analysis panel (routes in docs/http-api.md, "Analysis"). Every request goes
// through transport.js, so it also works over the notebook comm; `signal` aborts it over HTTP.
import { url, check, ApiError } from "./client.js";
import { httpFetch } from "./transport.js";

const BASE = "_cellucid/api/analysis";

/**
 * The token the page sends with its analysis POST: every viewer page carries this narrow,
 * read-only token (the server token itself only reaches the page with an annotation folder).
 * Over the comm the kernel adds the server's token itself.
 */
function analysisToken() {
  const m = document.querySelector('meta[name="cellucid-analysis-token"]');
  return m ? m.content : "";
}

/** Little-endian uint32 cell positions as base64 (4 bytes a cell), built in slices. */
export function cellsBase64(cells) {
  const u32 = cells instanceof Uint32Array ? cells : Uint32Array.from(cells);
  const bytes = new Uint8Array(u32.buffer, u32.byteOffset, u32.byteLength);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function getJSON(path, params, signal) {
  const res = await check(await httpFetch(url(`${BASE}/${path}`, params), { signal }));
  return res.json();
}

/** A group for the body: cell positions (Uint32Array) or "rest". */
const groupBody = (g) => (g === "rest" ? "rest" : { cells_b64: cellsBase64(g) });

export const analysisApi = {
  /**
   * Differential expression of `group` against `reference` (cells or "rest"), every gene:
   * `{method, n_genes, columns: {names, scores, logfoldchanges, pvals, pvals_adj, ...}}`.
   */
  async rankGenes({ group, reference = "rest", method = "t-test", tieCorrect = false }, signal) {
    const res = await httpFetch(url(`${BASE}/rank_genes`), {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Cellucid-Token": analysisToken() },
      body: JSON.stringify({ group: groupBody(group), reference: groupBody(reference), method, tie_correct: tieCorrect }),
      credentials: "same-origin",
      signal,
    });
    return (await check(res)).json();
  },

  /** Top `nGenes` marker genes of every category of `groupby`. */
  markers: (groupby, method = "t-test", nGenes = 5, signal) => getJSON("markers", { groupby, method, n_genes: nGenes }, signal),

  /** Mean and fraction expressing per category (rows) and gene (columns). */
  dotplot: (groupby, genes, signal) => getJSON("dotplot", { groupby, genes: genes.join(",") }, signal),

  /** `{r, p, n, method, x, y}` of two genes or continuous fields (scipy on the server). */
  correlation: (x, y, method = "pearson", signal) => getJSON("correlation", { x, y, method }, signal),

  /** A signature score per cell: `{values: Float32Array, min, max, genes, unknown}`. */
  async signature(genes, method = "mean", signal) {
    const res = await check(await httpFetch(url(`${BASE}/signature`, { genes: genes.join(","), method }), { signal }));
    const h = res.headers;
    const list = (name) => JSON.parse(decodeURIComponent(h.get(name) || "%5B%5D"));
    const values = new Float32Array(await res.arrayBuffer());
    if (h.get("X-Cellucid-Dtype") !== "float32") throw new ApiError(500, "signature answer is not float32", "the server and viewer versions differ");
    const num = (name) => (h.get(name) == null || h.get(name) === "" ? null : Number(h.get(name)));
    return { values, min: num("X-Cellucid-Min"), max: num("X-Cellucid-Max"), genes: list("X-Cellucid-Genes"), unknown: list("X-Cellucid-Unknown-Genes") };
  },
};

/**
 * A signature score as a continuous color column (`colorBy` {kind: "signature", name, genes,
 * method}: what a session keeps, so a restored session scores the same genes again).
 */
export function signatureColumn(name, answer, spec) {
  return { source: "signature", kind: "continuous", name, values: answer.values, min: answer.min, max: answer.max, spec: { genes: spec.genes, method: spec.method || "mean" } };
}

/** The column cache key of a signature: its genes and method (labels restart with each page). */
export const signatureKey = (spec) => `signature:${spec.method || "mean"}:${spec.genes.join(",")}`;
