// The comm transport's browser half: carries the viewer's requests to the kernel as widget
// custom messages and streams the answers back. The kernel half is
// cellucid/widget/comm_transport.py, which answers with the same route code as HTTP.
//
//   browser → kernel  {kind: "http", requests: [{id, url, headers}]}   (batched per task)
//   kernel → browser  {kind: "http", id, part, parts, status?, headers?} + one buffer per part
//   browser → kernel  {kind: "ping", id}   kernel → browser {kind: "pong", id}
//
// Answers are cut into parts of at most 4 MiB by the kernel (marimo sends buffers as base64
// and caps one message at 8 MB). Bodies with an ETag are kept here (bounded), so a request
// the kernel answers 304 is replayed from memory, as the HTTP cache would.

const MAX_BATCH = 32; // requests per message: each is a short URL, far below any size cap
const CACHE_BYTES = 256 * 1024 * 1024;
const QUIET_MS = 4000; // a pending request without news this long: is the kernel there?
const PONG_MS = 6000; // ... no pong this long after a ping: tell the user
const GIVE_UP_MS = 45000; // ... and fail the pending requests after this long without news

// One answer cache per model, shared by every output of the same viewer and kept across
// re-renders of the output (reload of the page keeps the model in the kernel, not here).
const caches = new WeakMap();

function cacheFor(model) {
  let c = caches.get(model);
  if (!c) caches.set(model, (c = { map: new Map(), bytes: 0 }));
  return c;
}

function remember(cache, url, entry) {
  if (entry.bytes > CACHE_BYTES / 4) return;
  const old = cache.map.get(url);
  if (old) cache.bytes -= old.bytes;
  cache.map.delete(url);
  cache.map.set(url, entry);
  cache.bytes += entry.bytes;
  for (const [k, v] of cache.map) {
    if (cache.bytes <= CACHE_BYTES) break;
    cache.map.delete(k);
    cache.bytes -= v.bytes;
  }
}

/**
 * Start relaying for one output of `model`. `onStatus(text|null)` shows (or clears) a line
 * about the kernel's connection. Returns {request(url, headers, sink), prefetch(urls, headers),
 * fetchWhole(url), dispose}; `sink` gets
 * head({status, headers}), chunk(ArrayBuffer), end(), error(message).
 */
export function createRelay(model, { onStatus = () => {} } = {}) {
  const prefix = Math.random().toString(36).slice(2, 10);
  const cache = cacheFor(model);
  const pending = new Map(); // id → {url, sink, cached, keep, last}
  let queue = [];
  let flushTimer = null;
  let next = 1;
  let pingSent = 0, pingId = null, warned = false, disposed = false;
  // Answers asked for before the viewer asks (prefetch): url → {head, chunks, done, error,
  // sink}. The viewer's own request for the same URL takes the answer over, once.
  const early = new Map();

  const flush = () => {
    flushTimer = null;
    while (queue.length) {
      model.send({ kind: "http", requests: queue.splice(0, MAX_BATCH) });
    }
  };

  /**
   * Ask the kernel for `url`; `sink` gets the answer (or takes over one asked for early).
   * `write` ({method, body: ArrayBuffer|null}) makes it a write: sent at once, in a message of
   * its own carrying the body as a buffer, never cached.
   */
  function request(url, headers, sink, write = null) {
    if (write) return sendWrite(url, headers, sink, write);
    const key = earlyKey(url, headers);
    const ahead = early.get(key);
    if (ahead) takeOver(key, ahead, sink);
    else send(url, headers, sink);
  }

  function send(url, headers, sink) {
    const id = `${prefix}-${next++}`;
    const cached = cache.map.get(url);
    const h = { ...(headers || {}) };
    if (cached && cached.etag) h["If-None-Match"] = cached.etag;
    pending.set(id, { url, sink, cached, keep: null, last: Date.now() });
    queue.push({ id, url, headers: h });
    // one message for every request made in the same task (e.g. a frame's worth)
    if (!flushTimer) flushTimer = setTimeout(flush, 0);
    return id;
  }

  function sendWrite(url, headers, sink, { method, body }) {
    const id = `${prefix}-${next++}`;
    pending.set(id, { url, sink, cached: null, keep: null, last: Date.now(), write: true });
    const req = { id, url, headers: headers || {}, method, body: body ? 0 : null };
    model.send({ kind: "http", requests: [req] }, undefined, body ? [body] : []);
  }

  const earlyKey = (url, headers) => `${(headers || {})["Accept-Encoding"] || ""} ${url}`;

  /** Ask for `urls` now, before the viewer does (its first frame while its page loads). */
  function prefetch(urls, headers) {
    for (const url of urls) {
      const key = earlyKey(url, headers);
      if (early.has(key)) continue;
      const entry = { head: null, chunks: [], done: false, error: null, sink: null };
      early.set(key, entry);
      // unclaimed answers are dropped after a minute (the viewer chose another first view)
      entry.timer = setTimeout(() => early.get(key) === entry && early.delete(key), 60000);
      send(url, headers, {
        head: (h) => (entry.sink ? entry.sink.head(h) : (entry.head = h)),
        chunk: (b) => (entry.sink ? entry.sink.chunk(b) : entry.chunks.push(b)),
        end: () => (entry.sink ? entry.sink.end() : (entry.done = true)),
        error: (m) => (entry.sink ? entry.sink.error(m) : (entry.error = m)),
      });
    }
  }

  function takeOver(key, entry, sink) {
    early.delete(key);
    clearTimeout(entry.timer);
    if (entry.head) sink.head(entry.head);
    for (const c of entry.chunks.splice(0)) sink.chunk(c);
    if (entry.error !== null) sink.error(entry.error);
    else if (entry.done) sink.end();
    else entry.sink = sink; // the rest streams straight through
  }

  function replay(req, entry) {
    req.sink.head({ status: 200, headers: entry.headers });
    for (const c of entry.chunks) req.sink.chunk(c.slice(0));
    req.sink.end();
  }

  function onPart(content, buffers) {
    const req = pending.get(content.id);
    if (!req) return; // another output's request, or one we gave up on
    req.last = Date.now();
    const buf = buffers && buffers[0];
    const bytes = buf ? (buf instanceof ArrayBuffer ? buf : buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)) : null;
    if (content.part === 0) {
      if (content.status === 304 && req.cached) {
        pending.delete(content.id);
        replay(req, req.cached);
        return;
      }
      const headers = content.headers || {};
      const etag = headers.Etag || headers.ETag || headers.etag;
      if (etag && content.status === 200 && !req.write) req.keep = { etag, headers, chunks: [], bytes: 0 };
      req.sink.head({ status: content.status, headers });
    }
    if (bytes && bytes.byteLength) {
      if (req.keep) {
        req.keep.chunks.push(bytes.slice(0));
        req.keep.bytes += bytes.byteLength;
      }
      req.sink.chunk(bytes);
    }
    if (content.part >= content.parts - 1) {
      pending.delete(content.id);
      if (req.keep) remember(cache, req.url, req.keep);
      req.sink.end();
    }
  }

  const onCustom = (content, buffers) => {
    if (!content || disposed) return;
    if (content.kind === "http") onPart(content, buffers);
    else if (content.kind === "pong" && content.id === pingId) {
      pingId = null;
      for (const req of pending.values()) req.last = Date.now();
      if (warned) {
        warned = false;
        onStatus(null);
      }
    }
  };
  model.on("msg:custom", onCustom);

  // Is the kernel still there? A request quiet for QUIET_MS sends a ping; no pong (a busy or
  // restarted kernel) shows a line in the output, and after GIVE_UP_MS the requests fail
  // with a message instead of leaving the viewer waiting forever.
  const watchdog = setInterval(() => {
    if (!pending.size) return;
    const now = Date.now();
    const oldest = Math.min(...[...pending.values()].map((r) => r.last));
    if (now - oldest > GIVE_UP_MS) {
      const msg = "the kernel did not answer (it may be busy running a cell, restarting, or gone); " +
        "run the cell again to reconnect";
      for (const [id, req] of pending) {
        pending.delete(id);
        req.sink.error(msg);
      }
      onStatus(`cellucid: ${msg}.`);
      warned = true;
      return;
    }
    if (now - oldest > QUIET_MS && pingId === null) {
      pingId = `${prefix}-ping-${next++}`;
      pingSent = now;
      model.send({ kind: "ping", id: pingId });
    } else if (pingId !== null && now - pingSent > PONG_MS && !warned) {
      warned = true;
      onStatus("cellucid: waiting for the kernel — it is busy running a cell, or it was restarted.");
    }
  }, 1000);

  return {
    request,
    prefetch,
    /** The whole body of `url` as {status, headers, bytes: Uint8Array} (for the page itself). */
    fetchWhole(url) {
      const gzip = typeof DecompressionStream === "function";
      return new Promise((resolve, reject) => {
        const parts = [];
        let head = null;
        request(url, gzip ? { "Accept-Encoding": "gzip" } : {}, {
          head: (h) => (head = h),
          chunk: (b) => parts.push(new Uint8Array(b)),
          end: () => {
            const n = parts.reduce((s, p) => s + p.length, 0);
            const bytes = new Uint8Array(n);
            let o = 0;
            for (const p of parts) (bytes.set(p, o), (o += p.length));
            const enc = (head.headers || {})["Content-Encoding"] || "";
            if (!/gzip/i.test(enc)) return resolve({ ...head, bytes });
            new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")))
              .arrayBuffer()
              .then((buf) => resolve({ ...head, bytes: new Uint8Array(buf) }), reject);
          },
          error: (m) => reject(new Error(m)),
        });
      });
    },
    dispose() {
      disposed = true;
      clearInterval(watchdog);
      if (flushTimer) clearTimeout(flushTimer);
      model.off("msg:custom", onCustom);
      for (const req of pending.values()) req.sink.error("the viewer's output was closed");
      pending.clear();
      for (const entry of early.values()) clearTimeout(entry.timer);
      early.clear();
    },
  };
}
