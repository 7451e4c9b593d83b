"""The ``cellucid`` command as a user runs it: a real subprocess, real signals, real files."""

from __future__ import annotations

import json
import signal
import socket
import time
import urllib.error
import urllib.request

import pytest

from cellucid._version import __version__
from cli_process import free_port, run_cli

SERVE_FLAGS = ["--port", "-p", "--host", "-H", "--no-browser", "--no-backed", "--latent-key",
               "--gene-id-column", "--expression", "--obs-key", "--allowed-host", "--dataset-name",
               "--quiet", "-q", "--verbose", "-v", "--demo", "--help"]


def health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_cellucid/health", timeout=10) as r:
        return json.loads(r.read())


def test_version():
    r = run_cli("--version")
    assert r.returncode == 0
    assert __version__ in r.stdout


def test_help_lists_the_commands():
    r = run_cli("--help")
    assert r.returncode == 0
    assert "serve" in r.stdout and "prepare" in r.stdout


def test_serve_help_lists_every_flag():
    r = run_cli("serve", "--help")
    assert r.returncode == 0
    missing = [flag for flag in SERVE_FLAGS if flag not in r.stdout]
    assert not missing


def test_prepare_is_registered_and_answers_help():
    r = run_cli("prepare", "--help")
    assert "prepare" in (r.stdout + r.stderr)
    assert "Traceback" not in r.stderr


def test_demo_banner_serves_and_sigint_stops_cleanly(serving):
    port = free_port()
    s = serving("--demo", "500", "--no-browser", "--port", str(port))
    assert f"http://127.0.0.1:{port}/" in s.banner
    assert "500 cells" in s.banner and "demo" in s.banner
    assert "Ctrl+C" in s.banner
    assert "WARNING" not in s.banner
    assert health(port)["n_cells"] == 500
    code, out, err = s.interrupt(signal.SIGINT)
    assert code == 0, err
    assert "Traceback" not in err
    with socket.socket() as sock:  # the port is free again
        # SO_REUSEADDR as every server sets it: TIME_WAIT remnants are fine, a listener is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()


def wait_for_health(port: int, proc) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        try:
            return health(port)
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server never answered")


def test_quiet_prints_nothing_and_sigterm_stops_cleanly(serving):
    port = free_port()
    s = serving("--demo", "200", "--no-browser", "--port", str(port), "--quiet", read_banner=False)
    assert wait_for_health(port, s.proc)["n_cells"] == 200
    code, out, err = s.interrupt(signal.SIGTERM)
    assert code == 0, err
    assert out == "" and "Traceback" not in err


def test_occupied_port_falls_back_and_says_so(serving):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        s = serving("--demo", "300", "--no-browser", "--port", str(taken))
        port = s.port()
        assert port != taken
        assert f"port {taken} was taken, using {port}" in s.banner
        assert health(port)["source_kind"] == "demo"
        assert s.interrupt()[0] == 0


def test_serving_an_h5ad_file_shows_its_name_and_size(serving, tmp_path):
    from cellucid.data.demo import demo_anndata

    path = tmp_path / "pbmc_like.h5ad"
    demo_anndata(400, 50).write_h5ad(path)
    s = serving(str(path), "--no-browser", "--port", "0", "--dataset-name", "My data",
                "--obs-key", "batch", "--obs-key", "cell_type")
    assert "My data" in s.banner and "400 cells × 50 genes (h5ad)" in s.banner
    port = s.port()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/dataset_identity.json", timeout=10) as r:
        ident = json.loads(r.read())
    assert [f["name"] for f in ident["fields"]] == ["batch", "cell_type"]
    assert ident["name"] == "My data"
    assert s.interrupt()[0] == 0


def _bad_input(tmp_path, kind):
    if kind == "missing":
        return str(tmp_path / "does-not-exist.h5ad")
    if kind == "not-hdf5":
        p = tmp_path / "fake.h5ad"
        p.write_text("this is not an HDF5 file")
        return str(p)
    if kind == "plain-dir":
        d = tmp_path / "some-folder"
        d.mkdir()
        (d / "notes.txt").write_text("hello")
        return str(d)
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["missing", "not-hdf5", "plain-dir"])
def test_bad_input_prints_error_and_hint_and_exits_2(tmp_path, kind):
    r = run_cli("serve", _bad_input(tmp_path, kind), "--no-browser", "--port", "0")
    assert r.returncode == 2
    assert r.stderr.startswith("Error: ")
    assert "hint:" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_expression_value_is_a_usage_error():
    r = run_cli("serve", "--expression", "bogus", "--no-browser")
    assert r.returncode == 2
    assert "layer:NAME" in r.stderr


def test_path_and_demo_together_is_a_usage_error(tmp_path):
    r = run_cli("serve", str(tmp_path), "--demo", "10", "--no-browser")
    assert r.returncode == 2
    assert "either PATH or --demo" in r.stderr


def test_non_loopback_host_warns_and_prints_the_token_url(serving):
    s = serving("--demo", "200", "--no-browser", "--port", "0", "--host", "0.0.0.0")
    assert "WARNING" in s.banner and "0.0.0.0" in s.banner
    open_line = next(line for line in s.banner.splitlines() if line.strip().startswith("open:"))
    url = open_line.split("open:", 1)[1].strip()
    assert "?token=" in url
    port = int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    token = url.split("?token=", 1)[1]
    with pytest.raises(urllib.error.HTTPError) as refused:
        health(port)
    assert refused.value.code == 403
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_cellucid/health?token={token}", timeout=10) as r:
        assert json.loads(r.read())["n_cells"] == 200
    assert s.interrupt()[0] == 0


def test_verbose_logs_each_request(serving):
    s = serving("--demo", "200", "--no-browser", "--port", "0", "-v")
    port = s.port()
    health(port)
    code, _, err = s.interrupt()
    assert code == 0
    assert "200 GET /_cellucid/health" in err


def test_the_browser_is_opened_with_the_url_unless_no_browser(tmp_path, serving, monkeypatch):
    import sys

    opened = tmp_path / "opened.txt"
    fake_browser = tmp_path / "fake-browser"
    fake_browser.write_text(f"#!{sys.executable}\nimport sys\nopen({str(opened)!r}, 'a').write(sys.argv[1] + '\\n')\n")
    fake_browser.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(fake_browser))  # webbrowser honours $BROWSER
    s = serving("--demo", "200", "--port", "0")
    port = s.port()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not opened.exists():
        time.sleep(0.1)
    assert opened.read_text().strip() == f"http://127.0.0.1:{port}/"
    assert s.interrupt()[0] == 0
    opened.unlink()
    s2 = serving("--demo", "200", "--port", "0", "--no-browser")
    s2.port()
    assert s2.interrupt()[0] == 0
    assert not opened.exists()
