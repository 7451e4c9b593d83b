"""``Expression.parse``: the one parser of ``--expression`` / ``expression=`` values."""

from __future__ import annotations

import pytest

from cellucid.data.base import InputError
from cellucid.data.matrix_choice import Expression


@pytest.mark.parametrize(("text", "kind", "layer", "canonical", "path"), [
    ("X", "X", None, "X", "X"),
    (None, "X", None, "X", "X"),
    ("", "X", None, "X", "X"),
    ("raw", "raw", None, "raw", "raw/X"),
    (" raw ", "raw", None, "raw", "raw/X"),
    ("layer:counts", "layer", "counts", "layer:counts", "layers/counts"),
    ("layer:a:b", "layer", "a:b", "layer:a:b", "layers/a:b"),
])
def test_parses_each_form(text, kind, layer, canonical, path):
    e = Expression.parse(text)
    assert (e.kind, e.layer, str(e), e.store_path) == (kind, layer, canonical, path)
    assert Expression.parse(str(e)) == e  # the canonical text parses back to the same value


@pytest.mark.parametrize("bad", ["counts", "layer:", "x", "RAW", "layers:counts", "X:raw"])
def test_bad_values_say_what_is_accepted(bad):
    with pytest.raises(InputError) as err:
        Expression.parse(bad)
    assert repr(bad) in err.value.message
    assert "'X', 'raw' or 'layer:NAME'" in err.value.hint
