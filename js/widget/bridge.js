// postMessage bridge to the viewer iframe (contract: docs/http-api.md, "Viewer ↔ host bridge").
// Every message is {channel: "cellucid", token, type, payload}. We accept a message only when it
// comes from *our* iframe's window, from the iframe's origin, and carries our token.

export const CHANNEL = "cellucid";

export function createBridge({ iframe, targetOrigin, token, onMessage }) {
  const queue = []; // host → viewer messages sent before the viewer said "ready"
  let ready = false;

  function listener(event) {
    if (event.source !== iframe.contentWindow) return;
    // "*": the page written into the output (comm transport) when this page's own origin is
    // opaque (a sandboxed output frame); the window and the token still have to match
    if (targetOrigin !== "*" && event.origin !== targetOrigin) return;
    const data = event.data;
    if (!data || data.channel !== CHANNEL || data.token !== token || typeof data.type !== "string") return;
    if (data.type === "ready") {
      ready = true;
      onMessage(data.type, data.payload || {});
      while (queue.length) post(...queue.shift());
      return;
    }
    onMessage(data.type, data.payload || {});
  }
  window.addEventListener("message", listener);

  function post(type, payload = {}, transfer = []) {
    const win = iframe.contentWindow;
    if (!win) return;
    win.postMessage({ channel: CHANNEL, token, type, payload }, targetOrigin, transfer);
  }

  return {
    /** Send at once, ready or not (the comm transport's answers: the viewer waits for them). */
    post,
    /** Send now if the viewer is ready, else once it is (in order). */
    send(type, payload = {}, transfer = []) {
      if (ready) post(type, payload, transfer);
      else queue.push([type, payload, transfer]);
    },
    /** A new page load in the iframe (navigation, reload) must say "ready" again. */
    reset() {
      ready = false;
    },
    get ready() {
      return ready;
    },
    dispose() {
      window.removeEventListener("message", listener);
      queue.length = 0;
    },
  };
}
