// Cell-index arrays between the widget model and the iframe.
// The model carries {buffer: DataView, dtype: "uint32", shape: [n]} (a binary comm buffer);
// the iframe bridge carries a Uint32Array (transferred, never copied into JSON).

/** Model value → a fresh Uint32Array that we own (safe to transfer to the iframe). */
export function toUint32(value) {
  if (!value) return new Uint32Array(0);
  let view = value.buffer !== undefined && !(value instanceof ArrayBuffer) && !ArrayBuffer.isView(value)
    ? value.buffer
    : value;
  if (Array.isArray(view)) return Uint32Array.from(view);
  if (view instanceof ArrayBuffer) return new Uint32Array(view.slice(0));
  if (ArrayBuffer.isView(view)) {
    // copy: the comm buffer may be shared, unaligned or a DataView
    const bytes = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
    return new Uint32Array(bytes, 0, Math.floor(bytes.byteLength / 4));
  }
  return new Uint32Array(0);
}

/** Uint32Array → model value (the DataView becomes a binary comm buffer). */
export function fromUint32(cells) {
  const arr = cells instanceof Uint32Array ? cells : Uint32Array.from(cells || []);
  return {
    buffer: new DataView(arr.buffer, arr.byteOffset, arr.byteLength),
    dtype: "uint32",
    shape: [arr.length],
  };
}

/** A custom message's first buffer (DataView / ArrayBuffer) → Uint32Array. */
export function bufferToUint32(buf) {
  if (!buf) return new Uint32Array(0);
  return toUint32(buf);
}
