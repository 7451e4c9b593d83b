"""``cellucid serve DATA --annotations DIR`` as a real process."""

from __future__ import annotations

import json
import urllib.request

from cli_process import Serving, run_cli


def test_serve_with_annotations(clustered_h5ad, tmp_path):
    server = Serving(str(clustered_h5ad), "--annotations", str(tmp_path / "labels"), "--port", "0", "--no-browser")
    try:
        base = f"http://127.0.0.1:{server.port()}"
        with urllib.request.urlopen(f"{base}/dataset_identity.json") as resp:
            ident = json.load(resp)
        assert ident["annotations"]["consensus_field"] == "annotation"
        with urllib.request.urlopen(f"{base}/_cellucid/api/annotations") as resp:
            assert json.load(resp)["targets"] == []
        assert (tmp_path / "labels" / "project.json").is_file()
    finally:
        rc, _out, err = server.interrupt()
    assert rc == 0, err


def test_serve_refuses_the_data_as_the_folder(clustered_h5ad):
    before = clustered_h5ad.read_bytes()
    done = run_cli("serve", str(clustered_h5ad), "--annotations", str(clustered_h5ad), "--no-browser", "--port", "0")
    assert done.returncode == 2 and "inside the data" in done.stderr and "hint:" in done.stderr
    assert "Traceback" not in done.stderr and clustered_h5ad.read_bytes() == before
