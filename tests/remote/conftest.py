"""Fixtures for remote stores: a real S3-compatible server (moto's server mode) on a free
loopback port, a static HTTP server with faults, and AnnData zarr stores written by anndata
and uploaded to them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "server"))  # server_http.Client

from http_store import StaticStore  # noqa: E402

from remote_names import BUCKET


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="package")
def moto_endpoint():
    """``moto_server`` in a subprocess; the AWS variables point at it for this package only."""
    port = _free_port()
    exe = shutil.which("moto_server") or "moto_server"
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("moto_server exited at start") from None
            time.sleep(0.05)
    env = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield url
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="package")
def s3(moto_endpoint):
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.mkdir(BUCKET)
    return fs


@pytest.fixture(scope="package")
def small_adata():
    from cellucid.data.demo import demo_anndata

    return demo_anndata(1200, 300)


def write_zarr(adata, path: Path, version: int) -> Path:
    import anndata

    with anndata.settings.override(zarr_write_format=version):
        adata.write_zarr(path)
    return path


@pytest.fixture(scope="package")
def local_zarr(small_adata, tmp_path_factory):
    """The same AnnData as zarr v2 and v3 on disk: {2: path, 3: path}."""
    root = tmp_path_factory.mktemp("zarr")
    return {v: write_zarr(small_adata, root / f"small_v{v}.zarr", v) for v in (2, 3)}


@pytest.fixture(scope="package")
def s3_zarr(s3, local_zarr):
    """URLs of the uploaded stores: {2: "s3://.../small_v2.zarr", 3: ...}."""
    out = {}
    for v, path in local_zarr.items():
        s3.put(str(path), f"{BUCKET}/{path.name}", recursive=True)
        out[v] = f"s3://{BUCKET}/{path.name}"
    return out


@pytest.fixture
def http_store(local_zarr):
    """A static HTTP server over the folder holding the local stores (faults off)."""
    store = StaticStore(local_zarr[2].parent)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def fast_failures(monkeypatch):
    """Short timeouts and few retries, so fault tests finish quickly."""
    monkeypatch.setenv("CELLUCID_REMOTE_TIMEOUT", "1")
    monkeypatch.setenv("CELLUCID_REMOTE_RETRIES", "2")
    monkeypatch.setenv("CELLUCID_REMOTE_BACKOFF", "0.05")
