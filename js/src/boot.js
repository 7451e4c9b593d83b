// Inlined into index.html by build.mjs and run before the viewer's module has even been
// fetched: request the dataset identity at once, then — as soon as it is read — the data of
// the first frame (embedding and default color field, data/startup.js), so the network works
// while the viewer's code loads; then create the WebGL context and compile the shaders. The viewer's client
// (data/client.js `request`) takes these responses instead of asking again.
import { initialChoices, firstView } from "./data/startup.js";
import { firstFrameUrls, url, IDENTITY } from "./data/client.js";
import { prepareGL } from "./render/renderer.js";
import { decideRenderer } from "./render/choose.js";
import { askedRenderer, probeRenderer } from "./render/probe.js";
import { expectedCanvasSize } from "./ui/layout.js";
import { mark } from "./perf.js";

(() => {
  if (!window.fetch || window.__cellucidBoot) return;
  const responses = new Map();
  const send = (u) => {
    const p = fetch(u);
    p.catch(() => {}); // the viewer reports failures when it uses the response
    responses.set(u.href, p);
    return p;
  };
  const identity = send(url(IDENTITY));
  const planned = identity
    .then((res) => (res.ok ? res.clone().json() : null))
    .then((id) => {
      if (id) for (const u of firstFrameUrls(firstView(id, initialChoices()))) send(u);
    })
    .catch(() => {}); // the viewer asks again and shows the error
  // what WebGL runs on, asked in a worker while the data download (render/choose.js)
  const probe = askedRenderer() ? null : probeRenderer();
  const boot = (window.__cellucidBoot = { responses, planned, probe, renderer: null, gl: null, glReady: null });
  // Once the data requests are out: the WebGL context and the point shaders (the GPU process
  // compiles them while the data and the viewer's code download). Not before: creating a
  // context holds this thread for 50–300 ms, and the identity must be read first. The viewer
  // adopts this canvas (ui/layout.js) and program (render/renderer.js).
  boot.glReady = planned.then(() => {
    try {
      // software WebGL: the CPU renderer draws, and needs no context made in advance
      boot.renderer = decideRenderer(probe);
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
