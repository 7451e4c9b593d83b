"""A Cell Ranger matrix, as a wet-lab user gets it first, reaches the viewer: `cellucid prepare
IN OUT --embed` on a few thousand cells, then the export is served and drawn, coloured by the
new Leiden clustering."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from browser_page import open_viewer

sys.path.insert(0, str(Path(__file__).parents[1] / "formats"))
from format_files import counts_data, write_10x_h5  # noqa: E402

pytestmark = pytest.mark.browser


def test_cell_ranger_file_embedded_is_drawn_by_leiden(browser, tmp_path):
    from cellucid.anndata_server import AnnDataServer
    from cellucid.data import open_source
    from cellucid.export import prepare

    h5 = write_10x_h5(tmp_path / "filtered_feature_bc_matrix.h5", *counts_data(3000, 300, 5, seed=7))
    out = prepare(h5, tmp_path / "export", embed=True, progress=False)
    with open_source(out) as src:
        leiden = src.obs_field("leiden")
    n_clusters = len(leiden.categories)
    assert n_clusters >= 3  # three populations were written
    srv = AnnDataServer(out, port=0, quiet=True).start_background()
    v = open_viewer(browser, srv.url)
    try:
        s = v.state()
        assert v.errors == []
        assert s["n_cells"] == 3000 and s["embedding"] == "X_umap" and s["dimension"] == 2
        assert s["color_by"] == "leiden"
        legend = v.page.locator("[data-testid=legend] .item")
        assert legend.count() == n_clusters
        px = v.pixels().reshape(-1, 3)
        background = np.median(px, axis=0)
        drawn = px[np.abs(px.astype(int) - background).sum(axis=1) > 30]
        colors, counts = np.unique(drawn // 8, axis=0, return_counts=True)
        assert len(drawn) > 3000 and (counts > 40).sum() >= 3  # several cluster colours on screen
        v.save("formats-cellranger-leiden.png")  # the picture in docs/formats.md
    finally:
        v.page.close()
        srv.stop()
