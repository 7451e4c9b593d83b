"""Folders written by the original cellucid-python prepare() (compact_v1) are read value by value."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cellucid.data.base import BadParameter, NotFound, SourceOptions
from cellucid.data.export_source import CompactV1Source, is_export_folder, open_export


def _check(src, expect, inputs):
    assert isinstance(src, CompactV1Source)
    s = src.summary()
    assert (s.kind, s.n_cells, s.n_genes) == ("export", 400, 12)
    emb = src.embeddings()
    assert [(e.key, e.dimensions) for e in emb] == [("X_umap", (1, 2, 3))]
    for d, pts in expect["points"].items():
        got = src.embedding("X_umap", d)
        assert got.dtype == np.float32 and got.shape == (400, d)
        np.testing.assert_array_equal(got, pts)  # normalized points served as they are
        assert np.abs(got).max() <= 1.0 + 1e-6
    np.testing.assert_array_equal(src.embedding("X_umap", 1)[:, 0], expect["points"][2][:, 0])
    names = [f.name for f in src.fields()]
    assert names == list(expect["fields"])
    for name, exp in expect["fields"].items():
        fd = src.obs_field(name)
        if exp[0] == "categorical":
            assert fd.kind == "categorical" and fd.categories == exp[1]
            np.testing.assert_array_equal(fd.codes, exp[2])
            assert fd.n_missing == int((exp[2] < 0).sum()) > 0
        else:
            assert fd.kind == "continuous"
            np.testing.assert_array_equal(fd.values, exp[1])
            np.testing.assert_array_equal(np.isnan(fd.values), np.isnan(inputs["obs"][name].to_numpy(dtype=np.float32)))
    assert list(src.gene_names()) == list(expect["genes"])
    for j, (_g, vals) in enumerate(expect["genes"].items()):
        np.testing.assert_array_equal(src.gene_by_index(j), vals)
    for (fid, d), vec in expect["vectors"].items():
        np.testing.assert_array_equal(src.vectors(fid, d), vec)
    assert [v.field_id for v in src.vector_fields()] == ["velocity_umap"]


@pytest.mark.parametrize("bits", [None, 8, 16])
@pytest.mark.parametrize("compression", [None, 6])
def test_compact_v1_values_read_exactly(tmp_path, upstream_inputs, compact_v1, bits, compression):
    i = upstream_inputs
    expect = compact_v1(tmp_path / "up", i["points"], i["obs"], i["genes"], quant_bits=bits,
                              compression=compression, vectors=i["vectors"], force_uint16=("cell type",))
    with open_export(tmp_path / "up") as src:
        _check(src, expect, i)
        if bits:  # quantized values stay within the original's truncation bound
            raw = i["genes"]["GENE0"]
            lo, hi = raw.min(), raw.max()
            step = (hi - lo) / (254 if bits == 8 else 65534)
            assert np.abs(src.gene_by_index(0) - raw).max() <= step * 1.0001


def test_compact_v1_gene_search_and_id_column(tmp_path, upstream_inputs, compact_v1):
    i = upstream_inputs
    compact_v1(tmp_path / "up", i["points"], i["obs"], i["genes"], var_gene_id_column="gene_symbols")
    with open_export(tmp_path / "up", SourceOptions(gene_id_column="gene_symbols")) as src:
        assert src.summary().gene_id_columns == ["gene_symbols"]
        j = list(src.gene_names()).index("HLA-A/B")
        np.testing.assert_array_equal(src.gene_by_index(j), i["genes"]["HLA-A/B"])  # odd name → safe file
        assert list(src.gene_ids("gene_symbols")) == list(i["genes"])
        with pytest.raises(NotFound):
            src.gene_ids("gene_ids")
        with pytest.raises(BadParameter):
            src.gene_by_index(12)
        with pytest.raises(NotFound) as err:
            src.obs_field("cell_type")
        assert "cell type" in err.value.hint


def test_multi_dataset_root_opens_default_and_subfolder(tmp_path, upstream_inputs, compact_v1):
    i = upstream_inputs
    root = tmp_path / "root"
    compact_v1(root / "first", i["points"], i["obs"], i["genes"], name="first")
    small = i["obs"].iloc[:, 2:]  # only continuous fields
    compact_v1(root / "second", i["points"], small, i["genes"], name="second")
    (root / "datasets.json").write_text(json.dumps({
        "version": 1, "default": "second",
        "datasets": [{"id": "first", "path": "first/", "name": "first"},
                     {"id": "second", "path": "second/", "name": "second"}]}))
    assert is_export_folder(root)
    with open_export(root) as src:
        assert src.summary().name == "second" and len(src.fields()) == 2
    with open_export(root / "first") as src:
        assert src.summary().name == "first" and len(src.fields()) == 4
    (root / "datasets.json").unlink()  # without a listing: the first subfolder by name
    with open_export(root) as src:
        assert src.summary().name == "first"


def test_open_source_reads_roots_and_searches_original_genes(tmp_path, upstream_inputs, compact_v1):
    from cellucid.data import open_source

    i = upstream_inputs
    compact_v1(tmp_path / "root" / "only", i["points"], i["obs"], i["genes"], name="only")
    with open_source(tmp_path / "root") as src:  # root → default dataset
        assert src.kind == "export" and src.summary().name == "only"
        assert [h.name for h in src.search_genes("gene1")] == ["GENE1", "GENE10", "GENE11"]
        assert src.resolve_gene("hla-a/b") == 3
        np.testing.assert_array_equal(src.gene("GENE5"), i["genes"]["GENE5"])
