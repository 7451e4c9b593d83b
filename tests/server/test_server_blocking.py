"""``serve_anndata`` outside an event loop blocks until Ctrl+C, then returns the stopped server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

SCRIPT = """
import cellucid
server = cellucid.serve_anndata(cellucid.demo_anndata(300), port=0, open_browser=False)
print("RETURNED running=%s" % server.running, flush=True)
"""


def test_serve_anndata_blocks_until_sigint_then_returns():
    proc = subprocess.Popen([sys.executable, "-u", "-c", SCRIPT], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        banner = []
        for line in proc.stdout:
            banner.append(line)
            if line.strip().startswith("stop:"):
                break
        text = "".join(banner)
        assert "press Ctrl+C" in text
        url = next(line for line in banner if "open:" in line).split("open:", 1)[1].strip()
        with urllib.request.urlopen(url + "_cellucid/health", timeout=10) as r:
            assert json.loads(r.read())["n_cells"] == 300
        assert proc.poll() is None  # still blocking
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "RETURNED running=False" in out
    assert "Traceback" not in err
