"""The widget's traitlets through ipywidgets' real (de)serialisation path.

Incoming front-end updates are fed to ``Widget._handle_msg`` exactly as the kernel's comm
delivers them (JSON state + binary buffers); outgoing state goes through ipywidgets'
``_remove_buffers``, which is what the comm sends.
"""

from __future__ import annotations

import numpy as np
import pytest
import traitlets
from ipywidgets.widgets.widget import _remove_buffers

from cellucid.widget._codec import as_indices, indices_from_json, indices_to_json
from cellucid.widget._widget import CellucidWidget


def front_end_update(widget, **state):
    """Deliver a front-end "update" message for ``state`` (buffers split out as the JS does)."""
    wire_state, buffer_paths, buffers = _remove_buffers(state)
    msg = {
        "content": {"data": {"method": "update", "state": wire_state, "buffer_paths": buffer_paths}},
        "buffers": [memoryview(bytes(b)) for b in buffers],
    }
    widget._handle_msg(msg)


def js_selection(cells: np.ndarray) -> dict:
    arr = np.ascontiguousarray(cells, dtype="<u4")
    return {"buffer": memoryview(arr.tobytes()), "dtype": "uint32", "shape": [arr.size]}


def test_selection_of_a_million_indices_arrives_intact_as_one_binary_buffer():
    w = CellucidWidget(token="t")
    cells = np.random.default_rng(0).permutation(2_000_000)[:1_000_000].astype(np.uint32)
    front_end_update(w, selection=js_selection(cells), selection_event={"seq": 1, "source": "lasso"})
    assert w.selection.dtype == np.uint32
    np.testing.assert_array_equal(w.selection, cells)
    assert w.selection_event == {"seq": 1, "source": "lasso"}


def test_outgoing_highlight_is_a_binary_buffer_not_a_json_list():
    w = CellucidWidget(token="t")
    w.highlight = np.arange(1_000_000)
    state, paths, buffers = _remove_buffers(w.get_state(["highlight"]))
    assert paths == [["highlight", "buffer"]]
    assert len(buffers) == 1 and memoryview(buffers[0]).nbytes == 4_000_000
    assert state["highlight"] == {"dtype": "uint32", "shape": [1_000_000]}
    np.testing.assert_array_equal(np.frombuffer(buffers[0], dtype="<u4"), np.arange(1_000_000))


def test_codec_round_trip_keeps_order_and_duplicates():
    cells = np.array([5, 1, 5, 4294967295], dtype=np.uint32)
    out = indices_from_json(indices_to_json(cells))
    np.testing.assert_array_equal(out, cells)


def test_empty_selection_round_trips():
    w = CellucidWidget(token="t")
    front_end_update(w, selection=js_selection(np.arange(3)))
    front_end_update(w, selection=js_selection(np.zeros(0)))
    assert w.selection.shape == (0,) and w.selection.dtype == np.uint32


def test_boolean_mask_becomes_positions():
    mask = np.zeros(10, dtype=bool)
    mask[[2, 7]] = True
    np.testing.assert_array_equal(as_indices(mask, 10), [2, 7])


@pytest.mark.parametrize(
    "bad, message",
    [([-1, 2], "negative"), ([0, 10], "out of range"), ([0.5], "integer"), (np.zeros(3, dtype=bool), "one entry per cell")],
)
def test_bad_indices_are_refused_with_a_clear_message(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        as_indices(bad, 10)


def test_dimension_must_be_1_2_or_3():
    w = CellucidWidget(token="t")
    w.dimension = 3
    with pytest.raises(traitlets.TraitError, match="1, 2 or 3"):
        w.dimension = 4


def test_custom_click_message_reaches_event_handlers():
    w = CellucidWidget(token="t")
    seen = []
    w.on_event(lambda name, payload: seen.append((name, payload)))
    w._handle_msg({"content": {"data": {"method": "custom", "content": {"event": "click", "payload": {"cell": 7, "shift": True, "ctrl": False}}}}, "buffers": []})
    assert seen == [("click", {"cell": 7, "shift": True, "ctrl": False})]


def test_widget_esm_is_the_built_bundle():
    # The JS is built by js/build.mjs; without it the widget would show a "not built" notice.
    w = CellucidWidget(token="t")
    assert "cellucid" in w._esm and "not built" not in w._esm
    assert "postMessage" in w._esm and "parent_origin" in w._esm
