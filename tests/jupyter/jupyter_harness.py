"""Run a real JupyterLab / Notebook 7 server and drive it with Chromium (Playwright).

Facts this relies on are in /work/shared/ENV.md ("JupyterLab in a test"): the command line,
``expose_app_in_browser`` for ``window.jupyterapp``, a kernelspec in the notebook metadata.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat

from jupyter_helpers import free_port, stop_process, wait_until_up

CHROMIUM_ARGS = [
    "--no-sandbox", "--use-gl=angle", "--use-angle=swiftshader", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


class JupyterServer:
    """``jupyter lab`` (or ``jupyter notebook``) on a free loopback port, no token, with a
    temporary config dir so the user's settings never leak in; stopped on exit."""

    def __init__(self, root: Path, app: str = "lab", env: dict | None = None, extra_args: tuple = ()):
        self.root = Path(root)
        self.app = app
        self.extra_args = list(extra_args)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._tmp = tempfile.TemporaryDirectory(prefix="cellucid-jupyter-")
        self.env = {**os.environ, **(env or {})}
        self.env["JUPYTER_CONFIG_DIR"] = os.path.join(self._tmp.name, "config")
        self.env["JUPYTER_RUNTIME_DIR"] = os.path.join(self._tmp.name, "runtime")
        self.env["JUPYTERLAB_WORKSPACES_DIR"] = os.path.join(self._tmp.name, "workspaces")
        self.env["JUPYTERLAB_SETTINGS_DIR"] = os.path.join(self._tmp.name, "settings")
        self.env.pop("JUPYTERHUB_SERVICE_PREFIX", None)
        # No "get notified about Jupyter news?" toast over the bottom of the page (and no fetch).
        notif = Path(self.env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "apputils-extension"
        notif.mkdir(parents=True, exist_ok=True)
        (notif / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(self._tmp.name) / "server.log"

    def __enter__(self) -> "JupyterServer":
        cmd = [
            sys.executable, "-m", "jupyter", self.app, "--no-browser", f"--port={self.port}",
            "--IdentityProvider.token=", "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0",
            "--allow-root", f"--ServerApp.root_dir={self.root}", *self.extra_args,
        ]
        app_class = {"lab": "LabApp", "notebook": "JupyterNotebookApp"}.get(self.app)
        if app_class:  # window.jupyterapp, to drive the UI from tests
            cmd.append(f"--{app_class}.expose_app_in_browser=True")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        wait_until_up(self.proc, self.base + "/api/status", f"jupyter {self.app}", self.log)
        return self

    def shutdown_kernels(self) -> None:
        """Shut every kernel down (their cellucid servers, daemon threads, go with them)."""
        with contextlib.suppress(OSError):
            for k in self.kernels():
                req = urllib.request.Request(f"{self.base}/api/kernels/{k['id']}", method="DELETE")
                urllib.request.urlopen(req, timeout=20).close()

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.shutdown_kernels()
        stop_process(self.proc)
        self._log.close()
        self._tmp.cleanup()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def kernels(self) -> list[dict]:
        with urllib.request.urlopen(self.base + "/api/kernels", timeout=5) as r:
            return json.load(r)

    def wait_kernels_idle(self, timeout: float = 60) -> None:
        """Poll ``/api/kernels`` until every kernel is idle (and at least one exists)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ks = self.kernels()
            if ks and all(k["execution_state"] == "idle" for k in ks):
                return
            time.sleep(0.25)
        raise TimeoutError(f"kernel not idle after {timeout}s: {self.kernels()}")

    def notebook_url(self, name: str) -> str:
        if self.app == "lab":
            return f"{self.base}/lab/tree/{name}?reset"
        return f"{self.base}/notebooks/{name}"


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A notebook of code ``cells`` with a python3 kernelspec (else Lab asks for a kernel)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nbformat.write(nb, str(path))
    return path


@contextlib.contextmanager
def chromium(viewport=(1280, 1000)):
    """Debian's Chromium, headless; yields a function that opens a new page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield lambda: browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        finally:
            browser.close()


def open_notebook(page, server: JupyterServer, name: str, timeout: float = 120) -> None:
    """Open the notebook and wait (up to ``timeout`` s) until its kernel is idle.

    One condition that tolerates every step being absent for a while: a session's kernel is
    null while it starts or restarts (a kernel that dies at start is restarted), and reading
    ``.kernel.status`` then would throw instead of waiting.
    """
    page.goto(server.notebook_url(name))
    page.wait_for_function("() => window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel?.status"
                           " === 'idle'", timeout=timeout * 1000)


def open_and_run_all(page, server: JupyterServer, name: str) -> None:
    """Open the notebook, wait for its kernel, run every cell."""
    open_notebook(page, server, name)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


def run_cell(page, index: int) -> None:
    """Run cell ``index`` (0-based) of the current notebook."""
    page.evaluate(
        """async (i) => {
            const nb = window.jupyterapp.shell.currentWidget.content;
            nb.activeCellIndex = i;
            await window.jupyterapp.commands.execute('notebook:run-cell');
        }""",
        index,
    )


def output_matching(page, pattern: str, timeout: float = 60) -> re.Match:
    """Wait for a cell output whose text matches ``pattern``; return the match."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for text in page.locator(".jp-OutputArea-output").all_inner_texts():
            m = rx.search(text)
            if m:
                return m
        time.sleep(0.2)
    texts = page.locator(".jp-OutputArea-output").all_inner_texts()
    raise AssertionError(f"no output matching {pattern!r}; outputs: {texts}")


def cellucid_frame(page, index: int = 0):
    """The Frame inside the ``index``-th cellucid iframe once it holds the viewer — over HTTP
    (its address has ``?embed=1``) or over the comm (the page written into its ``srcdoc``,
    whose address Chromium reports as about:srcdoc or, while it is being written,
    about:blank) — else None."""
    iframe = page.locator("iframe[title='cellucid viewer']").nth(index)
    if not iframe.count():
        return None
    handle = iframe.element_handle()
    frame = handle.content_frame() if handle else None
    if frame is None:
        return None
    if "embed=1" in frame.url or iframe.get_attribute("srcdoc") is not None:
        return frame
    return None


def viewer_frame(page, timeout: float = 150, index: int = 0):
    """The Playwright Frame of the ``index``-th cellucid iframe, once its viewer has rendered.

    Each step gets its own ``timeout``: on a loaded 2-core machine, kernel start, the health
    probe and the first render can each take a while."""
    page.wait_for_selector("iframe[title='cellucid viewer'], .cellucid-widget-error", timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.locator(".cellucid-widget-error").count():
            break
        frame = cellucid_frame(page, index)
        if frame is not None:
            # Lab/Notebook 7 skip rendering of off-screen cells (content-visibility): an
            # iframe scrolled away never draws its first frame. Bring it into view.
            page.locator("iframe[title='cellucid viewer']").nth(index).scroll_into_view_if_needed()
            frame.wait_for_selector('body[data-ready="1"]', state="attached", timeout=timeout * 1000)
            return frame
        time.sleep(0.2)
    errors = page.locator(".cellucid-widget-error").all_inner_texts()
    srcs = [f.url for f in page.frames]
    raise AssertionError(f"no cellucid viewer in an iframe; widget errors: {errors}; frames: {srcs}")
