// PNG text chunks: provenance written into the file itself (tEXt, Latin-1), readable by
// any PNG tool (`exiftool`, PIL's `Image.info`).
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Insert tEXt chunks (Latin-1; other characters become "?") right after IHDR. */
export function addPngText(png, entries) {
  const chunks = [];
  for (const [key, value] of Object.entries(entries)) {
    const text = `${key}\0${value}`;
    const data = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) data[i] = text.charCodeAt(i) < 256 ? text.charCodeAt(i) : 63;
    const chunk = new Uint8Array(12 + data.length);
    const dv = new DataView(chunk.buffer);
    dv.setUint32(0, data.length);
    chunk.set([116, 69, 88, 116], 4); // "tEXt"
    chunk.set(data, 8);
    dv.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
    chunks.push(chunk);
  }
  const at = 8 + 25; // signature + IHDR
  const total = png.length + chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(total);
  out.set(png.subarray(0, at), 0);
  let k = at;
  for (const c of chunks) (out.set(c, k), (k += c.length));
  out.set(png.subarray(at), k);
  return out;
}
