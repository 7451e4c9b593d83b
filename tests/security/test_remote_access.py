"""The ways to reach a server from elsewhere: an SSH tunnel (a TCP forwarder on another
loopback port), jupyter-server-proxy (a real ``jupyter server``), and an explicit
non-loopback bind (warning + token). Every connection goes to 127.0.0.1 only."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pytest

from netprobe import request

HEALTH = "/_cellucid/health"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Forwarder:
    """What ``ssh -L`` does locally: accept on one loopback port, pipe bytes to another."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((client, upstream), (upstream, client)):
                t = threading.Thread(target=self._pipe, args=(a, b), daemon=True)
                t.start()
                self.threads.append(t)

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.sock.close()


def test_ssh_tunnel_host_header_is_accepted(server):
    fwd = Forwarder(server.port)
    try:
        # A browser on the far side of `ssh -L 9999:localhost:P` sends Host: localhost:9999.
        for host in (f"localhost:{fwd.port}", f"127.0.0.1:{fwd.port}"):
            answer = request(fwd.port, HEALTH, host=host)
            assert answer.status == 200 and answer.json()["status"] == "ok"
        data = request(fwd.port, "/_cellucid/api/gene?index=0", host=f"localhost:{fwd.port}")
        assert data.status == 200 and data.headers["x-cellucid-dtype"] == "float32"
        assert request(fwd.port, HEALTH, host="evil.example.com").status == 403
    finally:
        fwd.close()


@pytest.fixture(scope="module")
def jupyter_server():
    port = free_port()
    tmp = tempfile.TemporaryDirectory(prefix="cellucid-sec-jupyter-")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": os.path.join(tmp.name, "config"),
           "JUPYTER_RUNTIME_DIR": os.path.join(tmp.name, "runtime"), "JUPYTER_DATA_DIR": os.path.join(tmp.name, "data")}
    env.pop("JUPYTERHUB_SERVICE_PREFIX", None)
    log = open(os.path.join(tmp.name, "log.txt"), "wb")
    proc = subprocess.Popen([sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={port}",
                             "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0", "--allow-root",
                             "--IdentityProvider.token=", f"--ServerApp.root_dir={tmp.name}"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, open(log.name).read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
        tmp.cleanup()


def test_works_behind_jupyter_server_proxy(jupyter_server, server):
    base = f"http://127.0.0.1:{jupyter_server}/proxy/{server.port}"
    with urllib.request.urlopen(f"{base}{HEALTH}", timeout=20) as r:
        assert r.status == 200
        body = r.read()
    assert b'"status":"ok"' in body
    with urllib.request.urlopen(f"{base}/_cellucid/api/embedding?format=u16", timeout=20) as r:
        assert r.headers["X-Cellucid-Dtype"] == "uint16"
        assert len(r.read()) > 0
    with urllib.request.urlopen(f"{base}/", timeout=20) as r:
        assert b"<title>viewer</title>" in r.read()


def test_proxy_does_not_launder_a_rebinding_host(jupyter_server, server):
    # The proxy itself is on loopback; an attacker's Host reaching it must not reach our data.
    req = urllib.request.Request(f"http://127.0.0.1:{jupyter_server}/proxy/{server.port}{HEALTH}",
                                 headers={"Host": "evil.example.com"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read()
    assert status != 200 or b"dataset_id" not in body


def test_non_loopback_bind_warns_and_requires_the_token():
    proc = subprocess.Popen([sys.executable, "-m", "cellucid.cli", "serve", "--demo", "300", "--host", "0.0.0.0",
                             "--port", "0", "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        banner = ""
        while not banner.rstrip().endswith("Ctrl+C"):
            line = proc.stdout.readline()
            assert line, f"no banner: {banner}{proc.stderr.read() if proc.poll() is not None else ''}"
            banner += line
        url = re.search(r"open:\s+(\S+)", banner).group(1)
        port = int(re.search(r":(\d+)/", url).group(1))
        token = re.search(r"\?token=([\w-]+)", url).group(1)
        assert "WARNING" in banner and "0.0.0.0" in banner and "token" in banner
        # Only ever connect to 127.0.0.1.
        assert request(port, HEALTH).status == 403
        assert request(port, "/", host=f"127.0.0.1:{port}").status == 403
        assert request(port, HEALTH, headers={"Cookie": f"cellucid-token-{port}=wrong"}).status == 403
        first = request(port, f"/?token={token}")
        assert first.status == 200
        cookie = first.headers["set-cookie"].split(";")[0]
        assert "httponly" in first.headers["set-cookie"].lower()
        assert request(port, "/dataset_identity.json", headers={"Cookie": cookie}).status == 200
        assert request(port, HEALTH, headers={"X-Cellucid-Token": token}).status == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
