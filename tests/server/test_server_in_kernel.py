"""In a real IPython kernel, ``serve_anndata`` starts in the background and keeps answering
while a cell is busy (the server has its own thread and event loop)."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

CELLS = [
    "import cellucid, json, urllib.request\n"
    "server = cellucid.serve_anndata(cellucid.demo_anndata(500), port=0, open_browser=False)\n"
    "print('RUNNING', server.running)",
    # This cell is busy (blocked in urlopen) while the server answers: a server on the
    # kernel's own event loop would deadlock here.
    "with urllib.request.urlopen(server.base_url + '_cellucid/health', timeout=20) as r:\n"
    "    print('HEALTH', json.load(r)['n_cells'])",
    "server.stop()\nprint('STOPPED', server.running)",
]


@pytest.mark.slow
def test_serve_anndata_in_a_kernel_runs_in_the_background_and_answers_during_a_busy_cell():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    text = ["".join(o.get("text", "") for o in cell.outputs) for cell in nb.cells]
    assert "RUNNING True" in text[0]
    assert "in the background" in text[0]
    assert "HEALTH 500" in text[1]
    assert "STOPPED False" in text[2]
