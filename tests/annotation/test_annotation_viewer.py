"""``show_anndata(..., annotations=DIR)``: the notebook Viewer's ``annotations`` table and
``consensus()`` Series, against a real background server (no browser)."""

from __future__ import annotations

import json

import pytest

from cellucid.data.base import InputError
from cellucid.widget import show_anndata
from server_http import Client


def test_viewer_annotations_and_consensus(tmp_path):
    from cellucid.data.demo import demo_anndata

    adata = demo_anndata(500, 20)
    viewer = show_anndata(adata, display=False, quiet=True, annotations=tmp_path / "labels")
    try:
        server = viewer.server
        assert viewer.annotations.empty
        for who, label in (("Ana", "T cell"), ("Bo", "T cell"), ("Cy", "NK")):
            r = Client(server.base_url).request(
                "POST", "/_cellucid/api/annotations/vote",
                body=json.dumps({"annotator": who, "field": "leiden", "category": "4", "label": label}).encode(),
                headers={"X-Cellucid-Token": server.token})
            assert r.status == 200
        table = viewer.annotations
        assert sorted(table.annotator) == ["Ana", "Bo", "Cy"]
        assert set(table.consensus) == {"T cell"} and table.set_index("annotator").votes.to_dict() == \
            {"Ana": 2, "Bo": 2, "Cy": 1}
        series = viewer.consensus()
        assert series.index.equals(adata.obs.index)
        expected = (adata.obs["leiden"].astype(str) == "4")
        assert (series.notna().to_numpy() == expected.to_numpy()).all()
        assert set(series.dropna()) == {"T cell"}
    finally:
        viewer.stop()


def test_viewer_without_a_folder_says_how(tmp_path):
    from cellucid.data.demo import demo_anndata

    viewer = show_anndata(demo_anndata(200, 10), display=False, quiet=True)
    try:
        with pytest.raises(InputError, match="no annotation folder") as err:
            viewer.consensus()
        assert "annotations=" in err.value.hint
    finally:
        viewer.stop()
