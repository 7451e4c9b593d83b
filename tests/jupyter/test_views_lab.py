"""Python drives the viewer's views in a real JupyterLab: ``viewer.snapshot()`` adds a view
in the page (drawn in its own canvas with its own coloring), ``viewer.views`` reports them,
``viewer.layout`` switches single / grid, ``viewer.remove_view()`` removes one."""

from __future__ import annotations

import json

import pytest
from jupyter_harness import output_matching, run_cell, write_notebook
from test_lab_e2e import jupyter, new_page, session, shown_viewer, workdir  # noqa: F401 - fixtures

pytestmark = [pytest.mark.jupyter, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

CELLS = [
    "import asyncio, json\nimport cellucid\nfrom cellucid.data.demo import demo_anndata\nadata = demo_anndata(3000)",
    "viewer = cellucid.show_anndata(adata, height=520, quiet=True)",
    "vid = viewer.snapshot(color_by='n_counts')\nvid2 = viewer.snapshot('by batch', color_by='batch', embedding='X_tsne')\n"
    "await asyncio.sleep(1.5)\nprint('VIEWS', json.dumps({'ids': [vid, vid2], 'views': viewer.views, 'layout': viewer.layout}))",
    "viewer.layout = 'single'\nawait asyncio.sleep(1.0)\nprint('SINGLE', viewer.layout, len(viewer.views))",
    "viewer.remove_view(vid)\nviewer.layout = 'grid'\nawait asyncio.sleep(1.5)\n"
    "print('REMOVED', json.dumps({'views': viewer.views, 'layout': viewer.layout}))",
]


def test_python_snapshot_views_and_layout_drive_the_page(jupyter, new_page, workdir):  # noqa: F811
    write_notebook(workdir / "views.ipynb", CELLS)
    with session(jupyter, new_page, "lab", f"{workdir.name}/views.ipynb") as (server, page):
        frame = shown_viewer(server, page)

        run_cell(page, 2)
        m = output_matching(page, r"VIEWS (.*)")
        got = json.loads(m.group(1))
        vid, vid2 = got["ids"]
        assert got["layout"] == "grid"
        assert [(v["id"], v["color_by"], v["embedding"]) for v in got["views"]] == [
            ("live", "cell_type", "X_umap"), (vid, "n_counts", "X_umap"), (vid2, "batch", "X_tsne")]
        assert got["views"][2]["name"] == "by batch"
        # the page shows them: one canvas per view, the grid layout
        page_views = frame.evaluate("() => window.cellucid.views().map((v) => [v.id, v.color_by])")
        assert page_views == [["live", "cell_type"], [vid, "n_counts"], [vid2, "batch"]]
        assert frame.evaluate("() => document.querySelector('[data-testid=views]').dataset.layout") == "grid"
        assert frame.locator(f"[data-testid=canvas-{vid2}]").is_visible()

        run_cell(page, 3)
        output_matching(page, r"SINGLE single 3")
        assert frame.evaluate("() => document.querySelector('[data-testid=views]').dataset.layout") == "single"
        assert not frame.locator(f"[data-testid=canvas-{vid2}]").is_visible()

        run_cell(page, 4)
        m = output_matching(page, r"REMOVED (.*)")
        got = json.loads(m.group(1))
        assert [v["id"] for v in got["views"]] == ["live", vid2] and got["layout"] == "grid"
        assert frame.evaluate("() => window.cellucid.views().map((v) => v.id)") == ["live", vid2]
        assert frame.locator(f"[data-testid=canvas-{vid}]").count() == 0
