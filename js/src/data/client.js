// The only module that asks the data server for anything. Every URL is relative to
// document.baseURI so the viewer works at "/" and under a proxy prefix such as "/proxy/8765/"
// (see docs/http-api.md); transport.js sends it over HTTP or through the notebook widget.

import { decodeSparseGene, sparseGeneBytes } from "./geneCodec.js";
import { httpFetch } from "./transport.js";
import { rangeParams } from "./progressive.js";

const DTYPES = {
  float32: Float32Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  int32: Int32Array,
};

/** An HTTP error carrying the server's `{error, hint}` JSON body. */
export class ApiError extends Error {
  constructor(status, message, hint) {
    super(message);
    this.status = status;
    this.hint = hint || "";
  }
}

function url(path, params, base = document.baseURI) {
  const u = new URL(path, base);
  if (params) for (const [k, v] of Object.entries(params)) if (v != null) u.searchParams.set(k, String(v));
  return u;
}

async function check(res) {
  if (res.ok) return res;
  let body = {};
  try {
    body = await res.json();
  } catch (_) {
    /* not JSON: keep the status text */
  }
  throw new ApiError(res.status, body.error || `${res.status} ${res.statusText}`, body.hint);
}

/**
 * fetch(u), unless the inline boot script (boot.js) already asked for exactly this URL while
 * the viewer's code was loading: then its response, once.
 */
async function request(u) {
  const boot = window.__cellucidBoot;
  if (boot) {
    // the boot script registers its data requests once it has read the identity
    if (!boot.responses.has(u.href)) await boot.planned;
    const early = boot.responses.get(u.href);
    if (early) {
      boot.responses.delete(u.href);
      return early;
    }
  }
  return httpFetch(u);
}

/**
 * The requests for the first frame of `view` (data/startup.js firstView): identity, the
 * quantized embedding and the default field. The boot script sends them early; the `api`
 * functions below build the very same URLs, so they find the responses.
 */
export function firstFrameUrls(view, base = document.baseURI, plan = null) {
  const out = [];
  // progressive loading (data/progressive.js): the first frame needs only the sample
  const cells = rangeParams(plan && plan.sample);
  if (view.embedding) out.push(url(EMBEDDING, { key: view.embedding, dim: view.dimension, format: "u16", ...cells }, base));
  if (view.colorBy && view.colorKind === "field") {
    out.push(url(OBS, { field: view.colorBy, ...cells }, base), url(OBS_META, { field: view.colorBy }, base));
  }
  return out;
}

export const IDENTITY = "dataset_identity.json";
const EMBEDDING = "_cellucid/api/embedding";
const OBS = "_cellucid/api/obs";
const OBS_META = "_cellucid/api/obs/meta";

export { url, check };

async function getJSON(path, params) {
  const res = await check(await request(url(path, params)));
  return res.json();
}

/**
 * Read a response body, reporting `onProgress(fraction)` against `expectedBytes` (the decoded
 * size, when known): Content-Length is the *compressed* size under gzip, so it cannot be
 * trusted for progress. Without a known size the body is read in one go.
 */
async function readBody(res, expectedBytes, onProgress) {
  if (!(onProgress && res.body && expectedBytes > 0)) return res.arrayBuffer();
  const out = new Uint8Array(expectedBytes);
  const extra = [];
  let got = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (got + value.length <= out.length) out.set(value, got);
    else extra.push(value); // larger than announced: fall back to concatenation below
    got += value.length;
    onProgress(Math.min(1, got / expectedBytes));
  }
  if (got === out.length && !extra.length) return out.buffer;
  return new Blob([out.subarray(0, Math.min(got, out.length)), ...extra]).arrayBuffer();
}

/** Fetch a binary typed array; `expectedBytes` (decoded size, when known) drives `onProgress`. */
async function getArray(path, params, { expectedBytes = 0, onProgress = null } = {}) {
  const res = await check(await request(url(path, params)));
  const dtype = res.headers.get("X-Cellucid-Dtype") || "float32";
  const shape = (res.headers.get("X-Cellucid-Shape") || "").split(",").filter(Boolean).map(Number);
  const buf = await readBody(res, expectedBytes, onProgress);
  const Ctor = DTYPES[dtype];
  if (!Ctor) throw new ApiError(500, `unsupported dtype ${dtype}`, "the server and viewer versions differ");
  return { data: new Ctor(buf), dtype, shape, headers: res.headers };
}

function headerNumber(headers, name) {
  const v = headers.get(name);
  return v == null ? null : Number(v);
}

/** Client for the routes of docs/http-api.md. */
export const api = {
  identity: () => getJSON(IDENTITY),

  /**
   * Quantized coordinates: {data: Uint16Array (n*dim), dim, bounds: [[min,max],...]}; with
   * `cells` ({start, stop, step}), only those cells (`nCells` of them), same bounds.
   */
  async embedding(key, dim, nCells, onProgress, cells = null) {
    const r = await getArray(
      EMBEDDING,
      { key, dim, format: "u16", ...rangeParams(cells) },
      { expectedBytes: nCells * dim * 2, onProgress },
    );
    const bounds = JSON.parse(r.headers.get("X-Cellucid-Bounds") || "[]");
    return { data: r.data, dim, bounds };
  },

  /** Raw float32 coordinates (n*dim) — for neighbourhood queries in embedding units. */
  async embeddingRaw(key, dim, nCells) {
    const r = await getArray("_cellucid/api/embedding", { key, dim, format: "f32" }, { expectedBytes: nCells * dim * 4 });
    return { data: r.data, dim };
  },

  /** One obs field: {kind, codes|values, meta} (meta from /obs/meta); `cells` as for embedding. */
  async field(name, nCells, onProgress, cells = null) {
    const [r, meta] = await Promise.all([
      getArray(OBS, { field: name, ...rangeParams(cells) }, { expectedBytes: nCells * 4, onProgress }),
      getJSON(OBS_META, { field: name }),
    ]);
    const kind = r.headers.get("X-Cellucid-Field-Kind") || meta.kind;
    if (kind === "continuous") {
      return { source: "field", name, kind: "continuous", values: r.data, meta, min: meta.min, max: meta.max };
    }
    const missing = { uint8: 255, uint16: 65535, uint32: 4294967295 }[r.dtype];
    return { source: "field", name, kind: "categorical", codes: r.data, missing, meta, categories: meta.categories || [] };
  },

  /**
   * One gene's expression: {source, kind, name, index, values: Float32Array(nCells), min, max}.
   * Asks for the sparse encoding (only the expressing cells travel; see docs/http-api.md) and
   * decodes it to dense values. Progress is exact: the headers announce the decoded body size.
   */
  async gene(name, nCells, onProgress) {
    const res = await check(await httpFetch(url("_cellucid/api/gene", { name, encoding: "sparse" })));
    const h = res.headers;
    let values;
    if (h.get("X-Cellucid-Encoding") === "sparse") {
      const n = headerNumber(h, "X-Cellucid-N-Cells");
      const nnz = headerNumber(h, "X-Cellucid-Nnz");
      const nEscapes = headerNumber(h, "X-Cellucid-Escapes");
      const nDict = headerNumber(h, "X-Cellucid-Dict");
      if (![n, nnz, nEscapes, nDict].every(Number.isInteger)) {
        throw new ApiError(500, "sparse gene response without its size headers", "the server and viewer versions differ");
      }
      const buf = await readBody(res, sparseGeneBytes(nnz, nEscapes, nDict), onProgress);
      try {
        values = decodeSparseGene(buf, n, nnz, nEscapes, nDict);
      } catch (e) {
        throw new ApiError(500, `gene ${name}: ${e.message}`, "the response was damaged or the versions differ; reload");
      }
    } else {
      // A server that ignores encoding= answers dense float32.
      values = new Float32Array(await readBody(res, nCells * 4, onProgress));
    }
    const gname = h.get("X-Cellucid-Gene-Name");
    return {
      source: "gene",
      kind: "continuous",
      name: gname ? decodeURIComponent(gname) : name,
      index: headerNumber(h, "X-Cellucid-Gene-Index"),
      values,
      min: headerNumber(h, "X-Cellucid-Min"),
      max: headerNumber(h, "X-Cellucid-Max"),
    };
  },

  /** A vector field in raw embedding units: Float32Array (n*dim). */
  async vectors(field, dim, nCells, onProgress) {
    const r = await getArray("_cellucid/api/vectors", { field, dim }, { expectedBytes: nCells * dim * 4, onProgress });
    return { data: r.data, dim };
  },

  searchGenes: (q, limit = 20) => getJSON("_cellucid/api/genes", { q, limit }),

  cells: (indices) => getJSON("_cellucid/api/cells", { index: indices.join(",") }),

  /** Each cell's `k` nearest neighbours in the latent space or stored graph (at most 1000 cells). */
  neighbors: (cells, k) => getJSON("_cellucid/api/neighbors", { cells: Array.from(cells).join(","), k }),

  /**
   * The neighbour graph's edges (docs/http-api.md): {pairs: Uint32Array (i, j per edge),
   * total: edges in the graph, sampled: whether `pairs` is a sample of at most `max`}.
   */
  async graphEdges(max) {
    const r = await getArray("_cellucid/api/graph/edges", { max });
    return { pairs: r.data, total: headerNumber(r.headers, "X-Cellucid-Edges-Total"), sampled: r.headers.get("X-Cellucid-Edges-Sampled") === "1" };
  },

  /** The annotation folder's targets, proposals, votes and consensus (docs/annotation.md). */
  annotations: () => getJSON(ANNOTATIONS),

  /**
   * An annotation write (`vote`, `retract`, `lock`, `sync`): a POST with the server's token,
   * which the server writes into the page only when it has an annotation folder. Over the
   * notebook's comm the kernel adds the token itself.
   */
  async annotate(action, body) {
    const meta = document.querySelector('meta[name="cellucid-write-token"]');
    const res = await httpFetch(url(`${ANNOTATIONS}/${action}`), {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Cellucid-Token": meta ? meta.content : "" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    return (await check(res)).json();
  },
};

const ANNOTATIONS = "_cellucid/api/annotations";
