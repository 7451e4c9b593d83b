"""The first example of docs/analysis.md runs as written (in tmp_path)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "analysis.md"


def test_first_example_runs(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    code = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)[0]
    code = code.replace("n_genes=3)", "n_genes=3, show=False)")  # no window in a test
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    with pytest.warns(UserWarning, match="CD79A"):
        exec(compile(code, str(DOC), "exec"), ns)
    assert len(ns["de"]) == 2000 and ns["de"]["scores"].is_monotonic_decreasing
    assert set(ns["top"]["group"]) == set(ns["adata"].obs["cell_type"].cat.categories)
    assert "rank_genes_groups" in ns["adata"].uns and "b_score" in ns["adata"].obs
