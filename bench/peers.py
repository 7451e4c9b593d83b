"""The peers: each installed from PyPI into its own venv under bench/.cache/ when missing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"

PEERS = {
    # name: (venv folder, pip requirement, console script)
    "cellxgene": ("venv-cellxgene", "cellxgene==1.3.0", "cellxgene"),
    "cellucid095": ("venv-cellucid095", "cellucid==0.9.5", "cellucid"),
    # the notebook peer: its venv's python runs as a Jupyter kernel (notebook_bench.py)
    "jscatter": ("venv-jscatter", "jupyter-scatter==1.0.1", "python"),
}
# Peers whose venv also sees this environment's packages: a kernel needs ipykernel, and the
# notebook reads the data with the same anndata as cellucid's.
SYSTEM_SITE = {"jscatter"}
# What a peer's python must import before it is used: a kernel that cannot import these dies
# at start, and Lab's session then has no kernel (jupyter-scatter failed so on a fresh machine,
# "Cannot read properties of null (reading 'kernel')", right after its venv was installed).
IMPORTS = {"jscatter": ("ipykernel_launcher", "jscatter", "anndata", "pandas")}


def wait_importable(peer: str, timeout: float = 600, log=print) -> tuple[bool, str]:
    """Until ``peer``'s python imports every module of ``IMPORTS[peer]`` (at most ``timeout`` s).

    The first import after an install also writes the bytecode, so a kernel started later
    does not spend its start-up compiling. Returns ``(ok, message)``.
    """
    mods = IMPORTS.get(peer)
    if not mods:
        return True, "nothing to import"
    py = CACHE / PEERS[peer][0] / "bin" / "python"
    deadline = time.monotonic() + timeout
    err = ""
    while True:
        left = deadline - time.monotonic()
        try:
            r = subprocess.run([str(py), "-c", "import " + ", ".join(mods)], capture_output=True, text=True,
                               timeout=max(left, 1))
            if r.returncode == 0:
                return True, f"{peer}: imports {', '.join(mods)}"
            err = (r.stderr or r.stdout)[-600:]
        except OSError as exc:  # no interpreter at all: waiting will not make one
            return False, f"{peer}: cannot run {py}: {exc}"
        except subprocess.SubprocessError as exc:
            err = str(exc)
        if time.monotonic() + 5 > deadline:
            return False, f"{peer}: its python ({py}) cannot import {', '.join(mods)}: {err}"
        log(f"  {peer}: not importable yet, waiting ({err.strip().splitlines()[-1] if err.strip() else '?'})")
        time.sleep(5)


def executable(peer: str) -> Path:
    venv, _req, script = PEERS[peer]
    return CACHE / venv / "bin" / script


def version(peer: str) -> str | None:
    venv, req, _ = PEERS[peer]
    py = CACHE / venv / "bin" / "python"
    name = req.split("==")[0]
    try:
        out = subprocess.run([str(py), "-m", "pip", "show", name], capture_output=True, text=True, timeout=60)
    except OSError:
        return None
    for line in out.stdout.splitlines():
        if line.startswith("Version:"):
            return line.split()[1]
    return None


def ensure(peer: str, log=print) -> tuple[bool, str]:
    """Install ``peer`` into its venv if its executable is missing.

    Returns ``(ok, message)``; a failed install is reported by the caller, never skipped
    silently.
    """
    exe = executable(peer)
    if exe.exists() and version(peer):
        ok, msg = wait_importable(peer, log=log)
        return (True, f"{peer} {version(peer)} (cached venv)") if ok else (False, msg)
    venv, req, _ = PEERS[peer]
    path = CACHE / venv
    log(f"  installing {req} into {path} (takes a few minutes)...")
    try:
        flags = ["--system-site-packages"] if peer in SYSTEM_SITE else []
        subprocess.run([sys.executable, "-m", "venv", *flags, str(path)], check=True, capture_output=True, timeout=300)
        r = subprocess.run([str(path / "bin" / "pip"), "install", "-q", req], capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"{peer}: install failed: {exc}"
    if r.returncode != 0 or not exe.exists():
        return False, f"{peer}: pip install {req} failed: {(r.stderr or r.stdout)[-600:]}"
    ok, msg = wait_importable(peer, log=log)
    if not ok:
        return False, msg
    return True, f"{peer} {version(peer)} (installed now)"
