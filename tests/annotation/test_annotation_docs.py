"""The Python example of docs/annotation.md runs as written (on demo data written to
``pbmc.h5ad``), and the CLI lines of its first block work."""

from __future__ import annotations

import re
from pathlib import Path

from cli_process import run_cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "annotation.md"


def test_python_example_runs(tmp_path, monkeypatch):
    from cellucid.data.demo import demo_anndata

    monkeypatch.chdir(tmp_path)
    demo_anndata(400, 20).write_h5ad("pbmc.h5ad")
    before = Path("pbmc.h5ad").read_bytes()
    [code] = [b for b in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S) if "AnnotationFolder" in b]
    ns: dict = {}
    exec(compile(code, str(DOC), "exec"), ns)  # noqa: S102 - our own documentation
    try:
        assert ns["viewer"].consensus().equals(ns["consensus"]("labels", ns["adata"]))
        assert list(ns["viewer"].annotations.label) == ["CD8 T cell", "CD8 T cell", "Doublet"]
        assert ns["adata"].obs["annotation"].tolist()[:3] == ["Doublet"] * 3
    finally:
        ns["viewer"].stop()
    assert Path("pbmc.h5ad").read_bytes() == before


def test_cli_init_line(tmp_path):
    done = run_cli("annotate", "init", str(tmp_path / "labels"), "--author", "Ana")
    assert done.returncode == 0 and (tmp_path / "labels" / "project.json").is_file()
