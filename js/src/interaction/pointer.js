// Mouse/keyboard on the canvas: pan/zoom (2D), orbit/planar/fly (3D), hover, click and lasso.
// Lasso: pick the lasso tool (L) and drag; Shift adds to the selection, Alt removes from it.

const CLICK_SLOP = 4; // px a press may move and still count as a click

export function attachPointer({ canvas, overlay, camera, store, onHover, onClick, onLasso, requestRender }) {
  let drag = null;
  let lasso = null;
  let hoverPending = null;
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("class", "lasso-path");
  overlay.appendChild(path);

  const local = (e) => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };

  canvas.addEventListener("contextmenu", (e) => e.preventDefault());

  canvas.addEventListener("pointerdown", (e) => {
    canvas.setPointerCapture(e.pointerId);
    const [x, y] = local(e);
    const s = store.get();
    if (s.tool === "lasso" && e.button === 0) {
      lasso = { points: [[x, y]], shift: e.shiftKey, alt: e.altKey };
      drawLasso();
      return;
    }
    drag = { x0: x, y0: y, x, y, button: e.button, shift: e.shiftKey, ctrl: e.ctrlKey || e.metaKey, moved: false };
  });

  canvas.addEventListener("pointermove", (e) => {
    const [x, y] = local(e);
    if (lasso) {
      const last = lasso.points[lasso.points.length - 1];
      if (Math.hypot(x - last[0], y - last[1]) >= 2) lasso.points.push([x, y]);
      drawLasso();
      return;
    }
    if (drag) {
      const dx = x - drag.x, dy = y - drag.y;
      drag.x = x;
      drag.y = y;
      if (Math.hypot(x - drag.x0, y - drag.y0) > CLICK_SLOP) drag.moved = true;
      if (!drag.moved) return;
      const s = store.get();
      const panGesture = drag.button === 2 || drag.button === 1 || drag.shift;
      if (camera.dim !== 3 || panGesture || s.navMode === "planar") camera.pan(dx, dy);
      else if (s.navMode === "fly") camera.look(dx, dy);
      else camera.orbit(dx, dy);
      requestRender(true); // a motion frame (may be coarse: render/cpuRenderer.js)
      onHover(null, e);
      return;
    }
    // hover: at most one pick per animation frame
    if (hoverPending) return;
    hoverPending = requestAnimationFrame(() => {
      hoverPending = null;
      onHover([x, y], e);
    });
  });

  const end = (e) => {
    if (lasso) {
      const l = lasso;
      lasso = null;
      // the release point closes the polygon even if it is within the 2 px sampling step
      const [ex, ey] = local(e);
      const last = l.points[l.points.length - 1];
      if (ex !== last[0] || ey !== last[1]) l.points.push([ex, ey]);
      path.setAttribute("d", "");
      if (l.points.length >= 3) onLasso(l.points, { add: l.shift || e.shiftKey, remove: l.alt || e.altKey });
      return;
    }
    if (drag && !drag.moved && e.type === "pointerup" && drag.button === 0) onClick(local(e), { shift: e.shiftKey, ctrl: e.ctrlKey || e.metaKey, alt: e.altKey });
    drag = null;
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  canvas.addEventListener("pointerleave", () => onHover(null));

  canvas.addEventListener(
    "wheel",
    (e) => {
      e.preventDefault();
      const [x, y] = local(e);
      const k = e.deltaMode === 1 ? 0.05 : 0.0015;
      camera.zoomAt(Math.exp(-e.deltaY * k), x, y);
      requestRender(true);
    },
    { passive: false },
  );

  function drawLasso() {
    if (!lasso) return;
    const d = lasso.points.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join("") + "Z";
    path.setAttribute("d", d);
    path.dataset.mode = lasso.alt ? "remove" : lasso.shift ? "add" : "new";
  }

  return {
    cancelLasso() {
      lasso = null;
      path.setAttribute("d", "");
    },
  };
}

/** Free-fly movement keys (WASD + Q/E), active only in 3D fly mode. */
export function attachFlyKeys({ camera, store, requestRender }) {
  const held = new Set();
  let raf = null;
  const step = () => {
    raf = null;
    if (!held.size || camera.dim !== 3 || store.get().navMode !== "fly") return;
    const v = 0.02 * (Math.hypot(...camera.extent) || 1);
    const f = (held.has("w") ? 1 : 0) - (held.has("s") ? 1 : 0);
    const r = (held.has("d") ? 1 : 0) - (held.has("a") ? 1 : 0);
    const u = (held.has("e") ? 1 : 0) - (held.has("q") ? 1 : 0);
    camera.fly(f * v, r * v, u * v);
    requestRender(true);
    raf = requestAnimationFrame(step);
  };
  window.addEventListener("keydown", (e) => {
    if (e.target.closest && e.target.closest("input, select, textarea")) return;
    const k = e.key.toLowerCase();
    if (!"wasdqe".includes(k) || k.length !== 1) return;
    if (camera.dim !== 3 || store.get().navMode !== "fly") return;
    held.add(k);
    if (!raf) raf = requestAnimationFrame(step);
  });
  window.addEventListener("keyup", (e) => held.delete(e.key.toLowerCase()));
  window.addEventListener("blur", () => held.clear());
}
