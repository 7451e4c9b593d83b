"""Writes over the comm transport in a real JupyterLab: with ``transport="comm"`` (no request
to the data server's port), a vote made in the viewer's annotation panel travels as a POST
over the widget's comm, lands in the annotation folder and reaches ``viewer.annotations``."""

from __future__ import annotations

import json

import pytest
from jupyter_harness import JupyterServer, chromium, open_notebook, output_matching, run_cell, viewer_frame, write_notebook
from test_comm_transport import watch_data_servers

pytestmark = [pytest.mark.jupyter, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

CELLS = [
    "import json\nimport cellucid\nfrom cellucid.data.demo import demo_anndata\n"
    "viewer = cellucid.show_anndata(demo_anndata(3000), height=420, quiet=True, transport='comm', annotations='ann')",
    "rows = viewer.annotations\nprint('VOTES', json.dumps(rows[['annotator', 'label']].astype(str).values.tolist()))",
]


def test_a_vote_travels_over_the_comm(tmp_path):
    write_notebook(tmp_path / "writes.ipynb", CELLS)
    with JupyterServer(tmp_path, app="lab") as lab, chromium() as new_page:
        page = new_page()
        to_ports = watch_data_servers(page, lab.port)
        open_notebook(page, lab, "writes.ipynb")
        run_cell(page, 0)
        frame = viewer_frame(page)
        ok = frame.evaluate("""async () => { const a = window.cellucid.app.annotations; a.setName('Ana');
            const done = await a.act('vote', {field: 'leiden', category: '0'}, {label: 'T cell'});
            return [done, a.error]; }""")
        assert ok == [True, None], ok
        files = list((tmp_path / "ann" / "annotators").glob("*.json"))
        assert len(files) == 1 and "T cell" in files[0].read_text()
        lab.wait_kernels_idle()
        run_cell(page, 1)
        assert json.loads(output_matching(page, r"VOTES (\[.*\])").group(1)) == [["Ana", "T cell"]]
        assert to_ports == [], "transport='comm' must not touch the data server's port"
