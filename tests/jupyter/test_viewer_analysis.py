"""viewer.rank_genes / viewer.markers: the viewer's selection and highlight groups as the
groups of a differential-expression test, answered from the viewer's own server source."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_widget_traits import front_end_update, js_selection

import cellucid
from cellucid.data.base import BadParameter
from cellucid.widget import show_anndata


@pytest.fixture
def viewer(demo_adata):
    v = show_anndata(demo_adata, display=False, quiet=True, color_by="cell_type")
    yield v
    v.stop()


def session_with_groups(a, b):
    return {
        "cellucid_session": 1, "dataset_id": "x", "selection": js_selection(np.zeros(0)),
        "group_pages": [{"id": 1, "name": "page 1"}, {"id": 2, "name": "other"}], "active_page": 1,
        "highlight_groups": [
            {"name": "mine", "color": "#ff0000", "visible": True, "page": 1, "cells": js_selection(a)},
            {"name": "theirs", "color": "#00ff00", "visible": True, "page": 1, "cells": js_selection(b)},
            {"name": "theirs", "color": "#00ff00", "visible": True, "page": 2, "cells": js_selection(a)},
        ],
    }


def test_selection_vs_rest_equals_the_data_layer_on_the_same_cells(viewer, demo_adata):
    cells = np.flatnonzero(demo_adata.obs["cell_type"].to_numpy() == "B cell")
    front_end_update(viewer.widget, selection=js_selection(cells), selection_event={"seq": 1, "source": "lasso"})
    got = viewer.rank_genes("selection", method="wilcoxon")
    pd.testing.assert_frame_equal(got, cellucid.rank_genes(demo_adata, cells, method="wilcoxon"))
    assert got["names"].iloc[0] in set(demo_adata.var_names[4::8])  # a B-cell marker of the demo (g % 8 == 4)


def test_highlight_groups_by_name_and_page_name(viewer, demo_adata):
    a, b = np.arange(0, 400), np.arange(1000, 1600)
    front_end_update(viewer.widget, session=session_with_groups(a, b))
    got = viewer.rank_genes("mine", reference="page 1/theirs")
    pd.testing.assert_frame_equal(got, cellucid.rank_genes(demo_adata, a, reference=b))
    with pytest.raises(BadParameter, match="'theirs' is not a highlight group") as e:  # on two pages: ambiguous
        viewer.rank_genes("mine", reference="theirs")
    assert "'page 1/theirs'" in e.value.hint and "'selection'" in e.value.hint


def test_empty_selection_says_so(viewer):
    with pytest.raises(BadParameter, match="no cells are selected"):
        viewer.rank_genes()


def test_markers_default_to_the_coloured_field_and_write_uns(viewer, demo_adata):
    import scanpy as sc

    top = viewer.markers(n_genes=3)
    assert sorted(top["group"].unique()) == sorted(demo_adata.obs["cell_type"].cat.categories)
    pd.testing.assert_frame_equal(top, cellucid.markers(demo_adata, "cell_type", n_genes=3))
    viewer.markers(n_genes=3, to_uns=True)
    back = sc.get.rank_genes_groups_df(demo_adata, "T cell")
    assert back["names"].tolist() == top[top["group"] == "T cell"]["names"].tolist()
