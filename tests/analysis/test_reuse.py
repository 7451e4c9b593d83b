"""What a source remembers between analysis calls."""

from __future__ import annotations

import numpy as np
import pandas as pd

import cellucid


def test_markers_again_on_the_same_field_reuses_the_per_category_pass_until_labels_change(tmp_path):
    """A second markers call on the same field makes no pass over the matrix; a field whose
    labels changed (an annotation being edited) is recomputed, not answered from the memo."""
    from cellucid.analysis._matrix import expression_of
    from cellucid.data import open_source
    from cellucid.data.demo import write_demo_h5ad

    path = write_demo_h5ad(tmp_path / "d.h5ad", n_cells=1500, n_genes=80, seed=2)
    source = open_source(path)
    expr = expression_of(source)
    passes = []
    original = expr.category_sums
    # (totals over all cells are one "category": counted apart, made once per source anyway)
    expr.category_sums = lambda codes, n, **k: (passes.append(n) if n > 1 else None) or original(codes, n, **k)
    first = cellucid.markers(source, "cell_type")
    again = cellucid.markers(source, "cell_type")
    assert len(passes) == 1
    pd.testing.assert_frame_equal(first, again)
    # the same categories, other labels (an annotation edited): a new pass, a new answer
    from cellucid.analysis.de import per_category

    field = source.obs_field("cell_type")
    n = len(field.categories)
    relabelled = np.roll(np.asarray(field.codes, dtype=np.int64), 7)
    got = per_category(expr, "sums", relabelled, n, lambda: expr.category_sums(relabelled, n))
    assert len(passes) == 2
    np.testing.assert_array_equal(got.total, original(relabelled, n).total)
    assert not np.array_equal(got.total, original(np.asarray(field.codes, dtype=np.int64), n).total)
    source.close()
