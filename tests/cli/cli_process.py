"""Run the real ``cellucid`` command in a subprocess and read its banner."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """A command that exits by itself (help, version, bad input)."""
    return subprocess.run([sys.executable, "-m", "cellucid.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"})


class Serving:
    """A ``cellucid serve`` process; ``banner`` holds its output up to the ``stop:`` line."""

    def __init__(self, *args: str, read_banner: bool = True):
        self.proc = subprocess.Popen([sys.executable, "-m", "cellucid.cli", "serve", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        lines = []
        if not read_banner:  # --quiet: there is nothing to read, and readline would block
            self.banner = ""
            return
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.strip().startswith("stop:"):
                break
        self.banner = "".join(lines)

    def port(self) -> int:
        for line in self.banner.splitlines():
            if line.strip().startswith("open:"):
                return int(line.rsplit(":", 1)[1].split("/")[0])
        raise AssertionError(f"no URL in banner:\n{self.banner}\n{self.stderr_now()}")

    def stderr_now(self) -> str:
        if self.proc.poll() is None:
            return ""
        return self.proc.stderr.read()

    def interrupt(self, sig=signal.SIGINT, timeout: float = 15) -> tuple[int, str, str]:
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
