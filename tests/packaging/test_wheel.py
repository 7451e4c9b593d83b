"""The wheel installs and serves without Node and without a network.

1. ``python -m build --wheel`` builds the wheel (this step may use node: it is the
   maintainer's machine; the viewer is bundled into the wheel).
2. The dependencies are fetched once as wheels with ``pip wheel --no-deps`` at exactly the
   versions installed here (the closure of cellucid's requirements), into a wheelhouse.
3. In a private user + network namespace (``unshare --user --map-root-user --net``: only a
   loopback interface exists, so nothing can reach a network), a fresh ``python -m venv``
   (no system site-packages) gets the wheel with ``pip install --no-index --find-links``,
   with a PATH holding only the venv's ``bin`` (no ``node``, no ``npm``) and no pip config.
4. The README's first command, ``cellucid serve``, runs from that venv; the page, its script,
   the dataset identity and a gene are loaded over HTTP; Ctrl+C stops it.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Runs inside the namespace with the venv's python: serve, fetch over HTTP, stop.
DRIVER = textwrap.dedent(
    """
    import json, os, shutil, signal, subprocess, sys, urllib.request

    venv_bin = os.path.dirname(sys.executable)
    proc = subprocess.Popen([os.path.join(venv_bin, "cellucid"), "serve"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    banner = []
    for line in proc.stdout:
        banner.append(line)
        if line.strip().startswith("stop:"):
            break
    url = next(l.split("open:", 1)[1].strip() for l in banner if l.strip().startswith("open:"))

    def get(path):
        with urllib.request.urlopen(url + path, timeout=60) as resp:
            return resp.status, resp.read()

    page_status, page = get("")
    script_status, script = get("assets/app.js")
    identity = json.loads(get("dataset_identity.json")[1])
    gene_status, gene = get("_cellucid/api/gene?index=0")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    import cellucid, numpy
    print(json.dumps({
        "banner": "".join(banner), "url": url, "page_status": page_status,
        "page_has_script": b"assets/app.js" in page, "script_status": script_status,
        "script_bytes": len(script), "identity_name": identity["name"], "n_cells": identity["stats"]["n_cells"],
        "gene_status": gene_status, "gene_bytes": len(gene), "exit": proc.returncode, "stderr": err,
        "node": shutil.which("node"), "npm": shutil.which("npm"),
        "prefix": sys.prefix, "base_prefix": sys.base_prefix,
        "cellucid_file": cellucid.__file__, "numpy_file": numpy.__file__,
        "interfaces": sorted(name for _i, name in __import__("socket").if_nameindex()),
    }))
    """
)


def _dependency_pins(wheel: Path) -> list[str]:
    """``name==version`` for every distribution the wheel needs, at the versions installed here."""
    import zipfile

    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        requires = [line.split(":", 1)[1].strip() for line in zf.read(meta).decode().splitlines()
                    if line.startswith("Requires-Dist:")]
    env = {**default_environment(), "extra": ""}
    pins: dict[str, str] = {}
    todo = list(requires)
    while todo:
        req = Requirement(todo.pop())
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        key = re.sub(r"[-_.]+", "-", req.name).lower()
        if key in pins:
            continue
        dist = md.distribution(req.name)
        pins[key] = dist.version
        todo.extend(dist.requires or [])
    return sorted(f"{k}=={v}" for k, v in pins.items())


def _run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd[:4]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_wheel_installs_and_serves_in_a_fresh_venv_without_node_or_network(tmp_path):
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)], timeout=600)
    wheel = next(dist.glob("cellucid-*.whl"))
    size = wheel.stat().st_size
    print(f"wheel: {wheel.name}, {size / 1024:.0f} KiB")
    assert size < 5 * 1024 * 1024  # the viewer bundle, not node_modules or data
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"cellucid/py.typed", "cellucid/static/viewer/index.html", "cellucid/static/widget/widget.js"} <= names

    wheelhouse = tmp_path / "wheelhouse"
    pins = _dependency_pins(wheel)
    assert any(p.startswith("numpy==") for p in pins) and any(p.startswith("tornado==") for p in pins)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheelhouse), *pins], timeout=900)

    venv = tmp_path / "venv"
    q = shlex.quote
    vpy = q(str(venv / "bin" / "python"))
    script = "\n".join([
        "set -e",
        f"{q(shutil.which('ip') or '/usr/sbin/ip')} link set lo up",
        f"{q(sys.executable)} -m venv {q(str(venv))}",
        f"export PATH={q(str(venv / 'bin'))} PIP_CONFIG_FILE=/dev/null PIP_NO_CACHE_DIR=1 "
        f"CELLUCID_CACHE_DIR={q(str(tmp_path / 'cache'))} PYTHONPATH= PYTHONNOUSERSITE=1",
        f"{vpy} -m pip install --quiet --no-index --only-binary=:all: --find-links {q(str(wheelhouse))} "
        f"--find-links {q(str(dist))} cellucid",
        f"cd {q(str(tmp_path))}",  # not the source tree: the installed package must be the one used
        f"exec {vpy} -c {q(DRIVER)}",
    ])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    proc = _run(["unshare", "--user", "--map-root-user", "--net", "/bin/sh", "-c", script], env=env, timeout=900)
    out = json.loads(proc.stdout.strip().splitlines()[-1])

    assert out["interfaces"] == ["lo"]  # no network but loopback
    assert out["node"] is None and out["npm"] is None
    assert out["prefix"] == str(venv) and out["base_prefix"] != str(venv)
    assert out["cellucid_file"].startswith(str(venv)) and out["numpy_file"].startswith(str(venv))
    assert out["url"] == "http://127.0.0.1:8765/" and "serving 'demo'" in out["banner"]
    assert out["page_status"] == 200 and out["page_has_script"]
    assert out["script_status"] == 200 and out["script_bytes"] > 50_000
    assert out["identity_name"] == "demo" and out["n_cells"] == 5000
    assert out["gene_status"] == 200 and out["gene_bytes"] > 0
    assert out["exit"] == 0 and "Traceback" not in out["stderr"]
