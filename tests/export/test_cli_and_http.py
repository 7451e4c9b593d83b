"""`cellucid prepare` from the command line, and an export folder served over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from urllib.parse import urlencode

import numpy as np
from click.testing import CliRunner

from cellucid.cli import main
from cellucid.data import open_source


def test_cli_prepare_writes_a_servable_folder(tmp_path, demo_adata):
    src = tmp_path / "demo.h5ad"
    demo_adata.write_h5ad(src)
    out = tmp_path / "exp"
    runner = CliRunner()
    res = runner.invoke(main, ["prepare", str(src), str(out), "--gene-id-column", "gene_ids",
                               "--obs-key", "cell_type", "--obs-key", "pseudotime", "--quantize", "16", "-q"])
    assert res.exit_code == 0, res.output
    assert "Exported" in res.output and "cellucid serve" in res.output
    with open_source(out) as s:
        assert [f.name for f in s.fields()] == ["cell_type", "pseudotime"]
        assert s.summary().gene_id_columns == ["gene_ids"]
    settings = json.loads((out / "dataset_identity.json").read_text())["export_settings"]
    assert settings["quantize"] == 16 and settings["compression"] == 6
    # the folder is made to be shared: it names the input file, not where it lived
    assert settings["input"] == "demo.h5ad"
    assert str(tmp_path) not in (out / "dataset_identity.json").read_text()


def test_cli_errors_are_message_and_hint_with_status_2(tmp_path, demo_adata):
    src = tmp_path / "demo.h5ad"
    demo_adata.write_h5ad(src)
    (tmp_path / "exp").mkdir()
    res = CliRunner().invoke(main, ["prepare", str(src), str(tmp_path / "exp")])
    assert res.exit_code == 2
    assert "already exists" in res.output and "hint:" in res.output and "--force" in res.output
    assert "Traceback" not in res.output
    res = CliRunner().invoke(main, ["prepare", str(tmp_path / "missing.h5ad"), str(tmp_path / "x")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = CliRunner().invoke(main, ["prepare", str(src), str(tmp_path / "y"), "--embedding", "X_nope"])
    assert res.exit_code == 2 and "X_nope" in res.output and "hint:" in res.output


def test_cli_prepare_help_lists_the_options():
    res = CliRunner().invoke(main, ["prepare", "--help"])
    assert res.exit_code == 0
    for opt in ("--gene-id-column", "--obs-key", "--embedding", "--expression", "--quantize",
                "--compression", "--force", "--latent-key", "--dataset-name"):
        assert opt in res.output


def test_console_script_prepare(tmp_path, demo_adata):
    src = tmp_path / "demo.h5ad"
    demo_adata.write_h5ad(src)
    exe = subprocess.run([sys.executable, "-c", "import sys; from cellucid.cli import main; sys.exit(main())",
                          "prepare", str(src), str(tmp_path / "exp"), "-q", "--compression", "0"],
                         capture_output=True, text=True, timeout=300)
    assert exe.returncode == 0, exe.stderr
    assert (tmp_path / "exp" / "dataset_identity.json").is_file()


def _get(url, **params):
    with urllib.request.urlopen(f"{url}{'?' + urlencode(params) if params else ''}", timeout=30) as r:
        return r.status, dict(r.headers), r.read()


def test_export_folder_served_over_http(tmp_path, demo_adata):
    from cellucid.anndata_server import AnnDataServer
    import cellucid

    out = cellucid.prepare(demo_adata, tmp_path / "exp", var_gene_id_column="gene_ids", progress=False)
    with AnnDataServer(str(out), port=0, quiet=True) as server:
        base = server.url.rstrip("/") + "/"
        status, _, body = _get(base + "_cellucid/health")
        health = json.loads(body)
        assert health["source_kind"] == "export" and health["n_cells"] == 3000
        status, headers, body = _get(base + "_cellucid/api/gene", name="CD3E")
        assert status == 200 and headers["X-Cellucid-Dtype"] == "float32"
        got = np.frombuffer(body, dtype="<f4")
        np.testing.assert_array_equal(got, demo_adata[:, "CD3E"].X.toarray().ravel().astype(np.float32))
        status, _, body = _get(base + "dataset_identity.json")
        assert json.loads(body)["id"] == json.loads((out / "dataset_identity.json").read_text())["id"]


def test_original_folder_served_over_http(tmp_path, upstream_inputs, compact_v1):
    from cellucid.anndata_server import AnnDataServer

    i = upstream_inputs
    expect = compact_v1(tmp_path / "up", i["points"], i["obs"], i["genes"], quant_bits=16, compression=6)
    with AnnDataServer(str(tmp_path / "up"), port=0, quiet=True) as server:
        base = server.url.rstrip("/") + "/"
        status, headers, body = _get(base + "_cellucid/api/gene", name="gene5")  # case-insensitive
        assert status == 200
        np.testing.assert_array_equal(np.frombuffer(body, "<f4"), expect["genes"]["GENE5"])
        status, headers, body = _get(base + "_cellucid/api/embedding", key="X_umap", dim=3)
        np.testing.assert_array_equal(np.frombuffer(body, "<f4").reshape(-1, 3), expect["points"][3])
        identity = json.loads(_get(base + "dataset_identity.json")[2])
        assert identity["source_kind"] == "export" and identity["stats"]["n_genes"] == 12
