"""Faults of remote stores: missing bucket or key, no credentials, access denied, dropped
connections and hangs mid-read. Opening fails with a clear message and hint; a route fails
with a JSON error and a hint (HTTP 502), later requests recover, health keeps answering."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

from server_http import Client

from remote_names import BUCKET

API = "/_cellucid/api"


def _open(url, **kw):
    from cellucid.data import open_source

    return open_source(url, **kw)


def _serve(url, **kw):
    from cellucid.anndata_server import AnnDataServer

    return AnnDataServer(url, port=0, quiet=True, open_browser=False, **kw)


# -- opening ----------------------------------------------------------------------------------
def test_missing_bucket_says_so(s3):
    from cellucid.data.base import InputError

    with pytest.raises(InputError) as err:
        _open("s3://no-such-bucket-here/data.zarr")
    assert "does not exist" in err.value.message and "bucket" in err.value.hint


def test_missing_key_says_so(s3_zarr):
    from cellucid.data.base import InputError

    with pytest.raises(InputError) as err:
        _open(f"s3://{BUCKET}/not-uploaded.zarr")
    assert "does not exist" in err.value.message


def test_no_credentials_names_the_ways_to_give_them(s3_zarr, monkeypatch, tmp_path):
    from cellucid.data.base import InputError

    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(InputError) as err:
        _open(s3_zarr[3])
    assert "no credentials" in err.value.message
    assert "AWS_ACCESS_KEY_ID" in err.value.hint and "anon" in err.value.hint


def test_access_denied_says_so(http_store):
    from cellucid.data.base import InputError

    http_store.set_faults(status=403)
    with pytest.raises(InputError) as err:
        _open(f"{http_store.url}/small_v3.zarr")
    assert "access denied" in err.value.message and "credentials" in err.value.hint


def test_cli_error_is_two_lines_and_no_traceback(s3):
    proc = subprocess.run([sys.executable, "-m", "cellucid.cli", "serve", "s3://no-such-bucket-here/x.zarr",
                           "--no-browser", "-p", "0"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and "hint:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_storage_option_flag_reaches_the_filesystem(s3_zarr, moto_endpoint):
    """--storage-option carries endpoint and keys: with no AWS variables at all, it serves."""
    import os
    import signal
    import urllib.request
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "cellucid.cli", "serve", s3_zarr[3], "--no-browser", "-p", "0",
         "--storage-option", f"endpoint_url={moto_endpoint}", "--storage-option", "key=testing",
         "--storage-option", "secret=testing"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = None
        for line in proc.stdout:
            if "open:" in line:
                url = line.split("open:", 1)[1].strip()
                break
        assert url, proc.stderr.read() if proc.poll() is not None else "no banner"
        with urllib.request.urlopen(url + "_cellucid/health", timeout=30) as r:
            assert json.loads(r.read())["n_cells"] == 1200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


# -- reading after a good start ---------------------------------------------------------------
def test_dropped_connections_are_retried(http_store, fast_failures, small_adata):
    with _serve(f"{http_store.url}/small_v3.zarr") as server:
        http_store.set_faults(match="/obsm/X_tsne", reset=2)  # fewer than the 3 tries
        r = Client(server.url).get(f"{API}/embedding", {"key": "X_tsne", "dim": 2, "format": "f32"})
        assert r.status == 200
        np.testing.assert_allclose(r.array(), small_adata.obsm["X_tsne"][:, :2], rtol=1e-6)
        assert len(http_store.requests("/obsm/X_tsne/")) >= 3  # the resets were seen and retried


def test_a_store_that_keeps_dropping_gives_a_json_error_then_recovers(http_store, fast_failures, small_adata):
    with _serve(f"{http_store.url}/small_v3.zarr") as server:
        client = Client(server.url)
        http_store.set_faults(match="/obsm/X_tsne", reset=1000)
        r = client.get(f"{API}/embedding", {"key": "X_tsne", "dim": 2, "format": "f32"})
        assert r.status == 502
        body = r.json()
        assert "failed after 3 tries" in body["error"] and "X_tsne" in body["error"]
        assert "ask again" in body["hint"] and "CELLUCID_REMOTE_TIMEOUT" in body["hint"]
        assert client.get("/_cellucid/health").status == 200
        http_store.set_faults()  # the store is back
        r = client.get(f"{API}/embedding", {"key": "X_tsne", "dim": 2, "format": "f32"})
        assert r.status == 200
        np.testing.assert_allclose(r.array(), small_adata.obsm["X_tsne"][:, :2], rtol=1e-6)


def test_a_hanging_read_times_out_and_health_answers_meanwhile(http_store, fast_failures, small_adata, monkeypatch):
    import time

    monkeypatch.setenv("CELLUCID_REMOTE_TIMEOUT", "3")  # a wide window to ask health in
    with _serve(f"{http_store.url}/small_v3.zarr") as server:
        client = Client(server.url)
        faults = http_store.set_faults(match="/obsm/X_pca", hang=1000)
        answer = {}
        reader = threading.Thread(target=lambda: answer.update(
            r=client.get(f"{API}/embedding", {"key": "X_pca", "dim": 2, "format": "f32"})))
        reader.start()
        try:
            for _ in range(1000):  # wait until the store holds the read
                if http_store.requests("/obsm/X_pca/"):
                    break
                time.sleep(0.01)
            health = client.get("/_cellucid/health", timeout=20)
            assert health.status == 200 and health.json()["n_cells"] == small_adata.n_obs
            assert reader.is_alive()  # health answered while the read was still held
            reader.join(60)
        finally:
            faults.release.set()
        assert http_store.requests("/obsm/X_pca/"), "the hanging path was never asked"
        r = answer["r"]
        assert r.status == 502 and "no answer within 3 s" in r.json()["error"]
        http_store.set_faults()
        r = client.get(f"{API}/embedding", {"key": "X_pca", "dim": 2, "format": "f32"})
        assert r.status == 200
        np.testing.assert_allclose(r.array(), small_adata.obsm["X_pca"][:, :2], rtol=1e-6)


def test_a_remote_h5ad_is_refused_with_the_way_to_serve_it(s3):
    from cellucid.data.base import InputError

    with pytest.raises(InputError) as err:
        _open(f"s3://{BUCKET}/data.h5ad")
    assert "only zarr stores" in err.value.message and "--format zarr" in err.value.hint


def test_storage_options_on_a_local_path_are_an_error(local_zarr):
    from cellucid.data.base import InputError

    with pytest.raises(InputError) as err:
        _open(str(local_zarr[3]), storage_options={"anon": True})
    assert "remote URL" in err.value.message
