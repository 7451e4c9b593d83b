// What the user sees instead of a blank box when the iframe cannot reach the server.

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

export function unreachableHtml({ url, reason, proxied, status, foreign }) {
  const lines = [
    `<b>cellucid: the viewer cannot reach its data server.</b>`,
    `Tried <code>${esc(url)}</code> — ${esc(reason)}.`,
  ];
  if (foreign) {
    lines.push(
      "Something answers at that address, but not this kernel's cellucid server (a port " +
        "forwarded from another machine, or reused by another program), so its data are not shown. " +
        "Stop what holds the port, or show the viewer with <code>transport=\"comm\"</code> " +
        "(or the default <code>\"auto\"</code>), which never uses the port.",
    );
  } else if (proxied && status === 404) {
    lines.push(
      "The notebook server answered 404 for the proxy path: jupyter-server-proxy is probably not " +
        "installed in the environment that runs the <i>Jupyter server</i>. " +
        "Run <code>pip install jupyter-server-proxy</code> there and restart the server.",
    );
  } else if (proxied) {
    lines.push(
      "The request went through jupyter-server-proxy. Check that the kernel is still running " +
        "(the server lives in the kernel) and that jupyter-server-proxy is installed " +
        "(<code>pip install jupyter-server-proxy</code>).",
    );
  } else {
    lines.push(
      "The viewer tried to connect directly to the kernel's machine. On JupyterHub or with a " +
        "remote kernel, the browser cannot reach that address: install jupyter-server-proxy " +
        "(<code>pip install jupyter-server-proxy</code>) and run <code>cellucid.set_proxy(True)</code> " +
        "(or set <code>CELLUCID_PROXY=1</code>) before creating the viewer.",
    );
  }
  return `<div class="cellucid-widget-error" role="alert" style="padding:1em;border:1px solid #c33;` +
    `border-radius:4px;background:#fff5f5;color:#611;font:14px/1.5 sans-serif">` +
    lines.map((l) => `<p style="margin:.3em 0">${l}</p>`).join("") + `</div>`;
}

export function commFailedHtml(reason) {
  return `<div class="cellucid-widget-error" role="alert" style="padding:1em;border:1px solid #c33;` +
    `border-radius:4px;background:#fff5f5;color:#611;font:14px/1.5 sans-serif">` +
    `<p style="margin:.3em 0"><b>cellucid: the viewer could not load through the notebook's connection.</b></p>` +
    `<p style="margin:.3em 0">${esc(reason)}</p>` +
    `<p style="margin:.3em 0">Check that the kernel is running and run the cell again. The kernel and the ` +
    `notebook page must have the same cellucid version (restart the kernel after an upgrade).</p></div>`;
}
