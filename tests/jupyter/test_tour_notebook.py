"""notebooks/tour.ipynb runs headless, top to bottom, in a real kernel (nbclient)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

TOUR = Path(__file__).resolve().parents[2] / "notebooks" / "tour.ipynb"

pytestmark = pytest.mark.timeout(180)


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
    return "\n".join(parts)


def test_tour_notebook_runs_headless(tmp_path):
    nb = nbformat.read(TOUR, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    texts = [_text(c) for c in code]
    joined = "\n".join(texts)
    assert "0 cells selected" in joined  # headless: nobody drew a lasso
    assert "cells highlighted" in joined
    assert "no highlight groups yet" in joined  # groups_to_obs() with no browser attached
    # the show_anndata cell displayed a widget (an anywidget model view)
    show = next(c for c in code if "show_anndata" in c.source)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in show.outputs)
    assert "'CD34'" in joined  # viewer.color_by after set_color_by
