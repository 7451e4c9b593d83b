// From a quantized embedding (uint16, docs/http-api.md) to what the GPU and the CPU need:
// the u16 attribute buffer, per-axis scale/offset into world units, world positions for
// picking/lasso, and the mask of cells with non-finite coordinates.

/** The u16 value of a missing coordinate, and the largest valid one (docs/http-api.md). */
export const MISSING = 65535;
export const Q = 65534;

/** A deterministic hash of cell `i` in [0, 1); a different `seed` gives an unrelated one. */
export function cellHash(i, seed) {
  let h = Math.imul(i ^ seed, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** Deterministic jitter in [0, 1) for 1D embeddings (same cell -> same offset). */
function jitter(i) {
  return cellHash(i, 0x9e3779b9);
}

/**
 * Build geometry. World axis i = ((raw_i - center_i) * 2 / maxRange): the data's bounding box
 * centered at 0, its longest axis spanning [-1, 1]. 1D gets a jitter axis of height 0.2.
 * `known` ({invalid, nInvalid}): the mask of cells without coordinates when the caller keeps
 * it already (progressive loading, data/progressive.js: most cells have none yet, and a
 * search for each of them would cost ~0.5 s at 10M cells).
 */
export function buildGeometry(emb, n, known = null) {
  let { data, dim, bounds } = emb;
  let gpuDim = dim;
  if (dim === 1) {
    const d2 = new Uint16Array(n * 2);
    for (let i = 0; i < n; i++) {
      d2[2 * i] = data[i];
      d2[2 * i + 1] = Math.floor(jitter(i) * Q);
    }
    data = d2;
    gpuDim = 2;
  }
  const ranges = bounds.map(([a, b]) => (Number.isFinite(b - a) && b > a ? b - a : 0));
  const maxRange = Math.max(...ranges) || 1;
  const scale = [0, 0, 0];
  const offset = [0, 0, 0];
  for (let a = 0; a < dim; a++) {
    scale[a] = (2 * ranges[a]) / maxRange;
    offset[a] = -ranges[a] / maxRange;
  }
  if (dim === 1) {
    scale[1] = 0.2;
    offset[1] = -0.1;
  }
  // The mask of cells without coordinates: a cheap scan of the u16 data. World positions
  // (Float32 n*3, for picking, lasso and export) are built on first use, not before the first
  // frame: the GPU de-quantizes positions itself.
  const invalid = known ? known.invalid : new Uint8Array(n);
  let nInvalid = known ? known.nInvalid : 0;
  // usually there is none: a native search finds that out in ~1 ms for 1M cells
  for (let j = known ? -1 : data.indexOf(MISSING); j >= 0; j = data.indexOf(MISSING, j + 1)) {
    const i = Math.floor(j / gpuDim);
    if (j - i * gpuDim < dim && !invalid[i]) {
      invalid[i] = 1;
      nInvalid++;
    }
  }
  let world = null;
  const buildWorld = () => {
    world = new Float32Array(n * 3);
    for (let a = 0; a < gpuDim; a++) {
      const sa = scale[a], oa = offset[a];
      for (let i = 0, j = a, k = a; i < n; i++, j += gpuDim, k += 3) world[k] = (data[j] / Q) * sa + oa;
    }
    return world;
  };
  const extent = [scale[0] / 2 || 1e-3, scale[1] / 2 || 1e-3, dim === 3 ? scale[2] / 2 || 1e-3 : 0];
  // unit: world units per raw embedding unit (vectors in raw units scale by it)
  return {
    positions: data, gpuDim, dim, scale, offset, invalid, nInvalid, extent, bounds, unit: 2 / maxRange,
    /** World positions (Float32Array n*3), built on first use. */
    get world() {
      return world || buildWorld();
    },
  };
}
