"""A real JupyterHub on loopback for the tests: configurable-http-proxy (npm, installed by
tests/run.sh into tests/hub/node_modules), the dummy authenticator (any name logs in) and a
local-process spawner, so logging in starts a real single-user Jupyter server under
``/user/<name>/``. Facts it relies on: /work/shared/ENV.md, "A real JupyterHub".
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_helpers import free_port, stop_process, wait_until_up

CHP = Path(__file__).resolve().parents[1] / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"

#: users whose single-user server runs without jupyter-server-proxy
NO_PROXY_PREFIX = "noproxy"

CONFIG = """\
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.spawner_class = "simple"
c.JupyterHub.db_url = "sqlite:///:memory:"
c.JupyterHub.cookie_secret_file = {secret!r}
c.JupyterHub.cleanup_servers = True
c.Authenticator.allow_all = True
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.pid_file = {pid!r}
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = {root!r}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.args = ["--allow-root", "--LabApp.expose_app_in_browser=True"]
c.Spawner.environment = {env!r}

def pre_spawn(spawner):
    # a hub without jupyter-server-proxy, for the users whose name says so
    if spawner.user.name.startswith({no_proxy!r}):
        spawner.args = spawner.args + ["--ServerApp.jpserver_extensions={{'jupyter_server_proxy': False}}"]

c.Spawner.pre_spawn_hook = pre_spawn
"""


class Hub:
    """``jupyterhub`` with its own proxy on free loopback ports; stopped on exit."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._tmp = tempfile.TemporaryDirectory(prefix="cellucid-hub-")
        tmp = Path(self._tmp.name)
        # the single-user servers: no user config, no news toast, quiet lab
        env = {
            "JUPYTER_CONFIG_DIR": str(tmp / "user-config"),
            "JUPYTERLAB_SETTINGS_DIR": str(tmp / "lab-settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "lab-workspaces"),
        }
        notif = tmp / "lab-settings" / "@jupyterlab" / "apputils-extension"
        notif.mkdir(parents=True)
        (notif / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
        self.config = tmp / "jupyterhub_config.py"
        self.config.write_text(CONFIG.format(
            port=self.port, hub_port=free_port(), api_port=free_port(), secret=str(tmp / "cookie_secret"),
            chp=str(CHP), pid=str(tmp / "proxy.pid"), root=str(self.root), env=env, no_proxy=NO_PROXY_PREFIX))
        self.log_path = tmp / "hub.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Hub":
        if not CHP.exists():
            raise RuntimeError(f"{CHP} is missing: run `npm --prefix tests/hub ci` (tests/run.sh does)")
        self._log = open(self.log_path, "wb")
        env = {**os.environ}
        env.pop("JUPYTERHUB_SERVICE_PREFIX", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(self.config)],
                                     cwd=self._tmp.name, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        wait_until_up(self.proc, self.base + "/hub/api/", "jupyterhub", self.log, timeout=90)
        return self

    def __exit__(self, *exc) -> None:
        stop_process(self.proc, grace=30)  # the hub stops the users' servers and its proxy (cleanup_servers)
        self._log.close()
        self._tmp.cleanup()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def login(self, page, name: str) -> str:
        """Log ``name`` in through the hub's own login form; returns the user's base URL once
        their single-user server answers."""
        page.goto(f"{self.base}/hub/login")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", "any")
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_url(f"**/user/{name}/**", timeout=150_000)
        return f"{self.base}/user/{name}/"
