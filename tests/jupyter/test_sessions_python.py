"""Sessions and highlight groups on the Python side, without a browser.

The pushed session is delivered as the front end delivers it: an ipywidgets "update"
message whose selection and group cells are binary buffers (``_remove_buffers`` splits
them out exactly as the JS comm does).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_viewer_python import custom
from test_widget_traits import front_end_update, js_selection

from cellucid.widget import SessionError, show_anndata
from cellucid.widget._session import groups_frame, groups_from_session


def pushed_session(n_sel=5, dataset_id="ds-1", color_by=None):
    """A session object as the viewer's sessionObject() builds it, cells as binary."""
    return {
        "cellucid_session": 1, "dataset_id": dataset_id, "dataset_name": "demo",
        "embedding": "X_umap", "dimension": 2, "camera": {"zoom": 1.5},
        "color_by": color_by or {"kind": "field", "name": "cell_type"},
        "colormap": "viridis", "range": None, "filters": [],
        "selection": js_selection(np.arange(n_sel)),
        "group_pages": [{"id": 1, "name": "page 1"}, {"id": 7, "name": "treated"}],
        "active_page": 1,
        "highlight_groups": [
            {"name": "tcells", "color": "#ff0000", "visible": True, "page": 1, "cells": js_selection(np.array([0, 2, 4]))},
            {"name": "bcells", "color": "#00ff00", "visible": True, "page": 1, "cells": js_selection(np.arange(10, 110))},
            {"name": "tcells", "color": "#0000ff", "visible": True, "page": 7, "cells": js_selection(np.array([1, 2999]))},
            {"name": "bcells", "color": "#0000ff", "visible": True, "page": 1, "cells": js_selection(np.array([3]))},
        ],
    }


@pytest.fixture
def viewer(demo_adata):
    v = show_anndata(demo_adata, display=False, quiet=True)
    yield v
    v.stop()


def test_pushed_session_arrives_with_cells_as_uint32_arrays(viewer):
    front_end_update(viewer.widget, session=pushed_session(n_sel=1000))
    s = viewer.widget.session
    assert s["selection"].dtype == np.uint32 and s["selection"].tolist() == list(range(1000))
    assert s["highlight_groups"][1]["cells"].dtype == np.uint32
    np.testing.assert_array_equal(s["highlight_groups"][1]["cells"], np.arange(10, 110))


def test_groups_by_page_with_same_name_on_one_page_numbered(viewer):
    front_end_update(viewer.widget, session=pushed_session())
    g = viewer.groups
    assert list(g) == ["page 1", "treated"]
    assert sorted(g["page 1"]) == ["bcells", "bcells (2)", "tcells"]
    assert g["page 1"]["tcells"].tolist() == [0, 2, 4] and g["treated"]["tcells"].tolist() == [1, 2999]
    assert g["page 1"]["bcells (2)"].tolist() == [3]


def test_groups_to_obs_is_bool_columns_on_the_obs_index(viewer, demo_adata):
    front_end_update(viewer.widget, session=pushed_session())
    df = viewer.groups_to_obs()
    # "tcells" is on two pages: the page name disambiguates; "bcells" only on one page
    assert sorted(df.columns) == ["group_bcells", "group_bcells (2)", "group_page 1/tcells", "group_treated/tcells"]
    assert (df.index == demo_adata.obs.index).all() and all(df.dtypes == bool)  # noqa: E721 - numpy dtypes compare equal to bool
    assert df["group_bcells"].sum() == 100 and df["group_treated/tcells"].sum() == 2
    assert df["group_page 1/tcells"].to_numpy().nonzero()[0].tolist() == [0, 2, 4]
    assert "group_bcells" not in demo_adata.obs  # adata is left alone
    assert list(viewer.groups_to_obs(prefix="hl:").columns)[0].startswith("hl:")


def test_no_groups_yet_gives_an_empty_frame_with_the_index(viewer, demo_adata):
    assert viewer.groups == {}
    df = viewer.groups_to_obs()
    assert df.shape == (demo_adata.n_obs, 0) and (df.index == demo_adata.obs.index).all()


def test_groups_frame_ignores_nothing_and_counts_duplicates_once():
    import pandas as pd

    df = groups_frame({"p": {"a": np.array([1, 1, 3], dtype="<u4")}}, pd.RangeIndex(5))
    assert df["group_a"].tolist() == [False, True, False, True, False]
    assert groups_from_session({}) == {}


def test_save_session_writes_the_pushed_session_as_json(viewer, tmp_path):
    with pytest.raises(SessionError, match="not reported its session"):
        viewer.save_session(tmp_path / "none.json")
    front_end_update(viewer.widget, session=pushed_session())
    path = viewer.save_session(tmp_path / "s.json")
    o = json.loads(open(path).read())
    assert o["dataset_id"] == "ds-1" and o["color_by"]["name"] == "cell_type"
    assert o["selection"] == [0, 1, 2, 3, 4] and o["highlight_groups"][2]["cells"] == [1, 2999]
    assert viewer.session()["camera"] == {"zoom": 1.5}


def test_load_session_sends_set_session_and_refuses_another_dataset(viewer, tmp_path):
    sent = []
    real_send = viewer.widget.send
    viewer.widget.send = lambda content, buffers=None: (sent.append(content), real_send(content, buffers))
    front_end_update(viewer.widget, session=pushed_session())
    path = viewer.save_session(tmp_path / "s.json")
    viewer.load_session(path)
    assert sent[-1]["cmd"] == "set_session"
    assert sent[-1]["payload"]["session"]["highlight_groups"][0]["cells"] == [0, 2, 4]

    other = json.loads(open(path).read()) | {"dataset_id": "other", "dataset_name": "pbmc"}
    with pytest.raises(SessionError, match="saved for dataset “pbmc”") as e:
        viewer.load_session(other)
    assert "open the dataset" in e.value.hint
    assert len(sent) == 1  # nothing sent for the refused one

    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SessionError, match="is not JSON"):
        viewer.load_session(tmp_path / "bad.json")
    (tmp_path / "plain.json").write_text("[1, 2]")
    with pytest.raises(SessionError, match="not a cellucid session"):
        viewer.load_session(tmp_path / "plain.json")


def test_viewer_refusal_becomes_a_warning_and_state(viewer):
    with pytest.warns(UserWarning, match="did not restore the session: wrong data"):
        custom(viewer.widget, "session_restored", {"ok": False, "error": "wrong data", "hint": "open it"})
    assert viewer.state["session_restored"]["ok"] is False
    custom(viewer.widget, "session_restored", {"ok": True})
    assert viewer.state["session_restored"]["ok"] is True
