// Decoder for `GET _cellucid/api/gene?...&encoding=sparse` (layout in docs/http-api.md and
// cellucid/server/encode.py:sparse_gene). gzip is undone by the browser (Content-Encoding);
// this turns the body into the dense Float32Array the viewer colors with.

/** A skip byte of 255: the skip is the next uint32 of the escape block. */
const SKIP_ESCAPE = 255;

/** Body length announced by the headers: escapes, value table, skips, then codes or byte planes. */
export function sparseGeneBytes(nnz, nEscapes, nDict) {
  return 4 * nEscapes + 4 * nDict + nnz + (nDict ? nnz : 4 * nnz);
}

/**
 * Sparse gene body → dense Float32Array(nCells), bit for bit the server's float32 values
 * (NaN and -0.0 are stored values; every other cell is 0). `nDict` > 0: values are uint8
 * codes into a table of `nDict` float32s; 0: four byte planes.
 * Throws an Error naming the problem when the body does not match the headers.
 */
export function decodeSparseGene(buffer, nCells, nnz, nEscapes, nDict = 0) {
  const expected = sparseGeneBytes(nnz, nEscapes, nDict);
  if (buffer.byteLength !== expected) {
    throw new Error(`sparse gene body has ${buffer.byteLength} bytes, the headers announce ${expected}`);
  }
  const out = new Float32Array(nCells);
  if (nnz === 0) return out;
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const t0 = 4 * nEscapes; // value table (float32 bit patterns)
  const s0 = t0 + 4 * nDict; // skips
  const v0 = s0 + nnz; // codes, or byte planes v0 (byte 0), v1, v2, v3 (byte 3: sign + exponent)
  // Writing bit patterns through a Uint32 view copies NaN payloads and -0.0 exactly.
  const bits = new Uint32Array(out.buffer);
  const table = new Uint32Array(nDict);
  for (let k = 0; k < nDict; k++) table[k] = view.getUint32(t0 + 4 * k, true);
  const v1 = v0 + nnz;
  const v2 = v1 + nnz;
  const v3 = v2 + nnz;
  let row = -1;
  let e = 0;
  for (let i = 0; i < nnz; i++) {
    let skip = bytes[s0 + i];
    if (skip === SKIP_ESCAPE) {
      if (e >= nEscapes) throw new Error("sparse gene body: more escapes than the headers announce");
      skip = view.getUint32(4 * e++, true);
    }
    row += skip + 1;
    if (row >= nCells) throw new Error(`sparse gene body: row ${row} is past the last cell (${nCells})`);
    if (nDict) {
      const code = bytes[v0 + i];
      if (code >= nDict) throw new Error("sparse gene body: a value code is past the table");
      bits[row] = table[code];
    } else {
      bits[row] = bytes[v0 + i] | (bytes[v1 + i] << 8) | (bytes[v2 + i] << 16) | (bytes[v3 + i] << 24);
    }
  }
  if (e !== nEscapes) throw new Error("sparse gene body: fewer escapes than the headers announce");
  return out;
}
