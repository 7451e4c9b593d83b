"""Start a server as a child process, wait until it answers, read its peak memory, stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from httpclient import get


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_hwm_bytes(pid: int) -> int:
    """Peak resident set size (``VmHWM``) of one process, in bytes; 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_pids(pid: int) -> list[int]:
    """``pid`` and all its descendants (servers that fork workers count as a whole)."""
    import psutil

    try:
        p = psutil.Process(pid)
        return [pid] + [c.pid for c in p.children(recursive=True)]
    except psutil.Error:
        return [pid]


@dataclass
class Server:
    """A running server process started by :func:`start`."""

    proc: subprocess.Popen
    port: int
    ready_s: float
    log_path: Path
    extra: dict = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def peak_rss(self) -> int:
        """Largest VmHWM in the process tree (the server process itself for all tools here)."""
        return max(vm_hwm_bytes(p) for p in tree_pids(self.proc.pid))

    def stop(self) -> None:
        if self.proc.poll() is None:
            # Own process group (start_new_session), so workers go too; only what we started.
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


class StartError(RuntimeError):
    pass


PYCACHE = Path(__file__).resolve().parent / ".cache" / "pycache"


def server_env(env: dict | None) -> dict:
    """The environment every measured server runs in: with bytecode caching, as after a
    normal install. (Some sandboxes set PYTHONDONTWRITEBYTECODE=1, which makes every start
    compile an editable install's modules from source — tens of ms of "ready" that no user
    pays.) The cache goes to bench/.cache/pycache, not into the source tree; the same for
    every tool."""
    env = dict(os.environ if env is None else env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def _limit_memory(max_bytes: int | None):
    """A ``preexec_fn`` capping the child's address space (``RLIMIT_AS``): a peer that would
    take more memory than the shared machine can spare fails with MemoryError instead."""
    if not max_bytes:
        return None

    def cap():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))

    return cap


def start(cmd: list[str], port: int, ready_path: str, log_path: Path, timeout: float = 180.0, env=None,
          max_memory_bytes: int | None = None) -> Server:
    """Run ``cmd``; poll ``ready_path`` until HTTP 200. ``ready_s`` is spawn → first 200.
    ``max_memory_bytes`` caps its address space; a start that fails reports its peak RSS."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "wb")
    env = server_env(env)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env=env, preexec_fn=_limit_memory(max_memory_bytes))
    deadline = t0 + timeout
    peak = 0
    while time.perf_counter() < deadline:
        if max_memory_bytes:  # (not for every server: the sampling costs CPU while it starts)
            peak = max([peak] + [vm_hwm_bytes(p) for p in tree_pids(proc.pid)])
        if proc.poll() is not None:
            log.close()
            cap = (f", peak RSS {peak / 1e6:,.0f} MB (address space capped at {max_memory_bytes / 2**30:.0f} GiB)"
                   if max_memory_bytes else "")
            raise StartError(f"exited with {proc.returncode} after {time.perf_counter() - t0:.0f} s{cap}: "
                             f"{log_path.read_text(errors='replace')[-600:]}")
        try:
            r = get(f"http://127.0.0.1:{port}{ready_path}", timeout=2)
            if r.status == 200:
                srv = Server(proc, port, time.perf_counter() - t0, log_path)
                log.close()
                return srv
        except OSError:
            pass
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    raise StartError(f"not ready after {timeout:.0f} s; log: {log_path}")
