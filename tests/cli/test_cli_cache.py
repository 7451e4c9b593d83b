"""``cellucid cache list|clear``, the cache location in ``cellucid --help``, and
``serve --cache-max`` (an index that does not fit: said once on stderr and in /health)."""

from __future__ import annotations

import json
import os
import time
import urllib.request

from cli_process import run_cli


def _index(path):
    from cellucid.data import open_source

    src = open_source(path)
    assert src._reader.index.wait(30)
    src.close()


def test_help_names_the_cache_folder_and_how_to_cap_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(tmp_path / "my-cache"))
    out = " ".join(run_cli("--help").stdout.split())  # as one line, however click wrapped it
    assert f"Gene-index cache: {tmp_path / 'my-cache' / 'gene-index'} " in out
    assert "CELLUCID_CACHE_MAX" in out and "cellucid cache list" in out
    assert "--cache-max" in run_cli("serve", "--help").stdout


def test_list_then_clear_by_file_and_by_age(make_adata, write_h5ad, tmp_path, monkeypatch):
    from cellucid.data import store_source

    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(store_source, "GENE_INDEX_MIN_NNZ", 0)
    a = write_h5ad(make_adata(matrix="csr", seed=1), "a.h5ad")
    b = write_h5ad(make_adata(matrix="csr", seed=2), "b.h5ad")
    _index(a)
    _index(b)

    listed = run_cli("cache", "list")
    assert listed.returncode == 0
    assert "2 indexes" in listed.stdout and str(a.resolve()) in listed.stdout and str(b.resolve()) in listed.stdout
    assert "last used " + time.strftime("%Y-%m-%d") in listed.stdout and " KB " in listed.stdout

    kept = run_cli("cache", "clear", "--older-than", "30d")
    assert kept.returncode == 0 and "removed 0 indexes" in kept.stdout

    gone = run_cli("cache", "clear", str(a))
    assert gone.returncode == 0 and "removed 1 index " in gone.stdout
    listed = run_cli("cache", "list").stdout
    assert str(a.resolve()) not in listed and str(b.resolve()) in listed

    none = run_cli("cache", "clear", str(a))
    assert none.returncode == 1 and "no cached index was built from" in none.stderr

    bad = run_cli("cache", "clear", "--older-than", "a month")
    assert bad.returncode == 2 and "30d" in bad.stderr and "Traceback" not in bad.stderr

    assert run_cli("cache", "clear").returncode == 0
    assert os.listdir(tmp_path / "cache" / "gene-index") == []
    assert a.exists() and b.exists()


def test_serve_with_a_cache_cap_too_small_scans_and_says_so_once(make_adata, write_h5ad, tmp_path, monkeypatch,
                                                                 serving):
    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CELLUCID_GENE_INDEX_MIN_NNZ", "0")
    path = write_h5ad(make_adata(matrix="csr"))
    server = serving(str(path), "--port", "0", "--no-browser", "--cache-max", "1K")
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port()}/_cellucid/health") as resp:
        health = json.load(resp)
    assert "cache cap is 1.0 KB" in health["gene_index_note"]
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port()}/_cellucid/api/gene?name=CD3E") as resp:
        assert resp.status == 200
    rc, _out, err = server.interrupt()
    assert rc == 0 and err.count("cache cap is 1.0 KB") == 1
    assert not (tmp_path / "cache" / "gene-index").exists() or os.listdir(tmp_path / "cache" / "gene-index") == []


def test_help_still_imports_no_data_layer():
    import subprocess
    import sys

    code = ("import sys\nfrom cellucid.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m in ('numpy', 'cellucid.data')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "Gene-index cache:" in out and out.strip().splitlines()[-1] == "[]"
