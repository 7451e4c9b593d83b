// Decoder for `GET _cellucid/api/gene?...&encoding=sparse` (layout in docs/http-api.md and
// cellucid/server/encode.py:sparse_gene). gzip is undone by the browser (Content-Encoding);
// this turns the body into the dense Float32Array the viewer colors with.

/** A skip byte of 255: the skip is the next uint32 of the escape block. */
const SKIP_ESCAPE = 255;

/** Body length in bytes announced by the headers: 4 × escapes + 5 × nnz. */
export function sparseGeneBytes(nnz, nEscapes) {
  return 4 * nEscapes + 5 * nnz;
}

/**
 * Sparse gene body → dense Float32Array(nCells), bit for bit the server's float32 values
 * (NaN and -0.0 are stored values; every other cell is 0).
 * Throws an Error naming the problem when the body does not match the headers.
 */
export function decodeSparseGene(buffer, nCells, nnz, nEscapes) {
  const expected = sparseGeneBytes(nnz, nEscapes);
  if (buffer.byteLength !== expected) {
    throw new Error(`sparse gene body has ${buffer.byteLength} bytes, the headers announce ${expected}`);
  }
  const out = new Float32Array(nCells);
  if (nnz === 0) return out;
  const bytes = new Uint8Array(buffer);
  const escapes = new DataView(buffer, 0, 4 * nEscapes);
  const s0 = 4 * nEscapes; // skips
  const p0 = s0 + nnz; // byte planes: p0 (byte 0), p1, p2, p3 (byte 3, sign + exponent)
  const p1 = p0 + nnz;
  const p2 = p1 + nnz;
  const p3 = p2 + nnz;
  // Writing the assembled bits through a Uint32 view copies NaN payloads and -0.0 exactly.
  const bits = new Uint32Array(out.buffer);
  let row = -1;
  let e = 0;
  for (let i = 0; i < nnz; i++) {
    let skip = bytes[s0 + i];
    if (skip === SKIP_ESCAPE) {
      if (e >= nEscapes) throw new Error("sparse gene body: more escapes than the headers announce");
      skip = escapes.getUint32(4 * e++, true);
    }
    row += skip + 1;
    if (row >= nCells) throw new Error(`sparse gene body: row ${row} is past the last cell (${nCells})`);
    bits[row] = bytes[p0 + i] | (bytes[p1 + i] << 8) | (bytes[p2 + i] << 16) | (bytes[p3 + i] << 24);
  }
  if (e !== nEscapes) throw new Error("sparse gene body: fewer escapes than the headers announce");
  return out;
}
