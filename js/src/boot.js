// Inlined into index.html by build.mjs and run before the viewer's module has even been
// fetched: read the dataset identity (inlined into the page by the server, else requested),
// then request the data of the first frame (embedding and default color field, data/startup.js), so the network works
// while the viewer's code loads; then create the WebGL context and compile the shaders. The viewer's client
// (data/client.js `request`) takes these responses instead of asking again.
import { initialChoices, firstView } from "./data/startup.js";
import { firstFrameUrls, url, IDENTITY } from "./data/client.js";
import { loadPlan } from "./data/progressive.js";
import { prepareGL } from "./render/renderer.js";
import { firstLoadRenderer } from "./render/choose.js";
import { expectedCanvasSize } from "./ui/layout.js";
import { mark } from "./perf.js";
import { httpFetch } from "./data/transport.js";

(() => {
  if (!window.fetch || window.__cellucidBoot) return;
  const responses = new Map();
  const send = (u) => {
    const p = httpFetch(u);
    p.catch(() => {}); // the viewer reports failures when it uses the response
    responses.set(u.href, p);
    return p;
  };
  const sendFirstFrame = (id) =>
    firstFrameUrls(firstView(id, initialChoices()), document.baseURI, loadPlan(id.stats.n_cells)).map(send);
  let planned, dataSent;
  const inline = inlineIdentity();
  if (inline) {
    // the server wrote the identity into the page: the data requests leave at once
    responses.set(url(IDENTITY).href, Promise.resolve(new Response(inline.text, { headers: { "Content-Type": "application/json" } })));
    dataSent = Promise.resolve(sendFirstFrame(inline.identity));
    // (a task later, not a microtask: a WebGL context made below must not hold the parser)
    planned = new Promise((resolve) => setTimeout(resolve, 0));
  } else {
    dataSent = send(url(IDENTITY))
      .then((res) => (res.ok ? res.clone().json() : null))
      .then((id) => (id ? sendFirstFrame(id) : []))
      .catch(() => []); // the viewer asks again and shows the error
    planned = dataSent.then(() => {});
  }
  const boot = (window.__cellucidBoot = { responses, planned, renderer: null, gl: null, glReady: null });
  // Once the data requests are out: for WebGL, the context and the point shaders (the GPU
  // process compiles them while the data and the viewer's code download). Creating a context
  // holds this thread for 50–300 ms. The viewer adopts this canvas (ui/layout.js) and program
  // (render/renderer.js).
  boot.glReady = planned.then(() => {
    try {
      boot.renderer = firstLoadRenderer();
      mark(`renderer-${boot.renderer}`);
      if (boot.renderer !== "webgl") return;
      const canvas = document.createElement("canvas");
      [canvas.width, canvas.height] = expectedCanvasSize();
      boot.gl = prepareGL(canvas);
    } catch (_) {
      /* the viewer tries again and reports the problem */
    }
  });
})();

/** The identity the server inlined (server/handlers/static.py `with_identity`), or null. */
function inlineIdentity() {
  const el = document.getElementById("cellucid-identity");
  if (!el) return null;
  try {
    return { text: el.textContent, identity: JSON.parse(el.textContent) };
  } catch (_) {
    return null; // the viewer asks the server
  }
}
