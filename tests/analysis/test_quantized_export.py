"""Differential expression on a quantized export folder: the error bound docs/analysis.md states.

A quantized gene store keeps zeros exact (only non-zero values are stored) and decodes each
stored value of gene g within ``δ_g = (max_g − min_g) / (2 · levels)`` (export_layout's
``quant_error_bound``). So, per gene: the fractions of non-zero cells are exact; each group
mean moves by at most ``δ_g`` times the group's non-zero fraction; and scanpy's log2 fold
change ``log2((expm1(m1) + 1e-9) / (expm1(m2) + 1e-9))`` by at most
``Σ_i δ_i · e^(m_i + δ_i) / ((expm1(m_i − δ_i) + 1e-9) · ln 2)`` where both means exceed
their error. The test checks each of these against the unquantized answer, gene by gene.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import cellucid
from cellucid.data.demo import demo_anndata
from cellucid.data.export_layout import quant_error_bound


@pytest.fixture(scope="module")
def demo():
    return demo_anndata(n_cells=3000, n_genes=300, seed=4)


@pytest.fixture(scope="module", params=[8, 16])
def quantized(request, demo, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"q{request.param}") / "export"
    cellucid.prepare(demo, out, quantize=request.param, compression=None)
    return request.param, out


def _delta(adata, bits: int) -> np.ndarray:
    csc = sp.csc_matrix(adata.X)
    out = np.zeros(csc.shape[1])
    for g in range(csc.shape[1]):
        v = csc.data[csc.indptr[g]:csc.indptr[g + 1]]
        if v.size:
            out[g] = quant_error_bound(float(v.min()), float(v.max()), bits)
    return out + 1e-6  # float32 rounding of the decoded values


@pytest.mark.parametrize("method", ["t-test", "wilcoxon"])
def test_quantized_export_answers_within_the_stated_bound(demo, quantized, method):
    bits, folder = quantized
    group = np.flatnonzero(demo.obs["cell_type"].to_numpy() == demo.obs["cell_type"].cat.categories[0])
    exact = cellucid.rank_genes(demo, group, method=method).set_index("names")
    quant = cellucid.rank_genes(str(folder), group, method=method).set_index("names").loc[exact.index]
    delta = dict(zip(demo.var_names, _delta(demo, bits)))
    d = exact.index.map(delta).to_numpy(dtype=float)

    np.testing.assert_array_equal(quant["pct_nz_group"], exact["pct_nz_group"])
    np.testing.assert_array_equal(quant["pct_nz_reference"], exact["pct_nz_reference"])
    for side, pct in (("mean_group", "pct_nz_group"), ("mean_reference", "pct_nz_reference")):
        moved = np.abs(quant[side] - exact[side]).to_numpy()
        assert (moved <= d * exact[pct].to_numpy() + 1e-7).all(), side

    m1, m2 = exact["mean_group"].to_numpy(), exact["mean_reference"].to_numpy()
    both = (m1 > d) & (m2 > d)
    bound = sum(d * np.exp(m + d) / ((np.expm1(m - d) + 1e-9) * np.log(2)) for m in (m1, m2))
    lfc_moved = np.abs(quant["logfoldchanges"] - exact["logfoldchanges"]).to_numpy()
    assert both.sum() >= 20  # the bound is checked on many genes, not vacuously
    assert (lfc_moved[both] <= bound[both] + 1e-6).all()
    # and the quantization is visible at all (the test would pass on an unquantized copy
    # only if this were not asserted): 8 bits moves the means measurably
    if bits == 8:
        assert np.abs(quant["mean_group"] - exact["mean_group"]).max() > 1e-5
