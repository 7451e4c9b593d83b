// k nearest neighbours measured by the server (GET /_cellucid/api/neighbors) in the space the
// identity's `neighbors` block names: a latent space (--latent-key, default X_pca, an export's
// latent.f32) or the stored graph obsp['connectivities']. The server knows nothing of what this
// viewer hides, so hidden cells are dropped here and a cell left with fewer than k visible
// neighbours is asked again with a larger k (until the space has no more to give).

const BATCH = 1000; // cells per request: the URL stays far under the server's 16 KiB limit
const PARALLEL = 3;
const MAX_K = 10000;

/** Label for the k-NN tool: where the neighbours are measured (`info` = identity.neighbors). */
export function neighborSpaceLabel(info) {
  if (!info) return "neighbours in the shown embedding";
  if (info.kind === "graph") return `neighbours from obsp['${info.key}']`;
  return `neighbours in ${info.key} (${info.n_dims} dims)`;
}

/**
 * The k nearest visible neighbours (excluding the cell itself) of every cell of `cells`,
 * as one Set. `hidden` is a Uint8Array (1 = hidden); `fetchRows(cells, k)` is api.neighbors.
 */
export async function latentNearest(cells, k, hidden, fetchRows) {
  const out = new Set();
  let todo = Array.from(cells);
  let ask = k;
  while (todo.length) {
    const again = [];
    const batches = [];
    for (let i = 0; i < todo.length; i += BATCH) batches.push(todo.slice(i, i + BATCH));
    const run = async (batch) => {
      const body = await fetchRows(batch, ask);
      batch.forEach((c, r) => {
        const row = body.neighbors[r];
        const visible = row.filter((j) => !hidden[j]);
        // the space gave fewer than asked: it has no more for this cell (graph degree, all cells)
        const exhausted = row.length < ask;
        if (visible.length >= k || exhausted || ask >= MAX_K) visible.slice(0, k).forEach((j) => out.add(j));
        else again.push(c);
      });
    };
    for (let i = 0; i < batches.length; i += PARALLEL) await Promise.all(batches.slice(i, i + PARALLEL).map(run));
    todo = again;
    ask = Math.min(MAX_K, ask * 4);
  }
  return out;
}
