"""cellucid.data.elements reads what anndata writes exactly as anndata.io.read_elem does.

Every element is written by ``anndata.io.write_elem`` into a real HDF5 file and real zarr
v2 / v3 stores, then read both ways and compared value by value.
"""

from __future__ import annotations

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import zarr
from anndata.io import read_elem as anndata_read_elem
from anndata.io import write_elem

from cellucid.data import elements
from cellucid.data.elements import Categorical, Masked

STORES = ["h5ad", "zarr2", "zarr3"]

UNICODE = np.array(["T cell", "β-cell", "細胞", "naïve 🧬", "", "a/b"], dtype=object)

ELEMENTS = {
    "strings": UNICODE,
    "strings_empty": np.array([], dtype=object),
    "float": np.array([0.5, np.nan, -1.0, 1e30]),
    "int": np.arange(-3, 3, dtype=np.int64),
    "uint8": np.array([0, 255, 7], dtype=np.uint8),
    "bool": np.array([True, False, True]),
    "matrix": np.arange(12, dtype=np.float32).reshape(4, 3),
    "cat": pd.Categorical(["β-cell", "T cell", None, "β-cell", "細胞"]),
    "cat_ordered": pd.Categorical(["low", "high", "mid", None], categories=["low", "mid", "high"], ordered=True),
    "cat_all_missing": pd.Categorical([None, None], categories=[]),
    "cat_empty": pd.Categorical([], categories=[]),
    "cat_unused": pd.Categorical(["a", "a"], categories=["a", "b", "c"]),
    "cat_int_categories": pd.Categorical([3, 1, None, 3]),
    "nullable_int": pd.array([1, None, -3, 2**40], dtype="Int64"),
    "nullable_int8": pd.array([None, 5], dtype="Int8"),
    "nullable_bool": pd.array([True, None, False, True], dtype="boolean"),
    "nullable_bool_no_missing": pd.array([True, False], dtype="boolean"),
    "nullable_string": pd.array(["β", None, "", "細胞"], dtype="string"),
}


@pytest.fixture(scope="module", params=STORES)
def store(request, tmp_path_factory):
    """A group holding every element of ELEMENTS (plus a dataframe and others), written by
    anndata once per store kind, then opened read-only as cellucid opens files."""
    kind = request.param
    tmp_path = tmp_path_factory.mktemp(kind)
    if kind == "h5ad":
        root = h5py.File(tmp_path / "elements.h5", "w")
    else:
        root = zarr.open_group(str(tmp_path / "elements.zarr"), mode="w", zarr_format=int(kind[-1]))
    with ad.settings.override(allow_write_nullable_strings=True):
        for name, value in ELEMENTS.items():
            write_elem(root, name, value)
        df = pd.DataFrame(
            {"n": [1.0, 2.0, 3.0], "c": pd.Categorical(["x", "y", "x"])},
            index=pd.Index(["c-β", "c-2", "c-3"], name="barcodes"),
        )
        write_elem(root, "df", df)
        write_elem(root, "df_unnamed", pd.DataFrame({"n": [1, 2]}, index=["r0", "r1"]))
        write_elem(root, "csr", sp.csr_matrix(np.eye(3, dtype=np.float32)))
        write_elem(root, "mapping", {"a": np.arange(3), "b": np.array(["x", "y"], dtype=object)})
    if kind == "h5ad":
        root.close()
        root = h5py.File(tmp_path / "elements.h5", "r")
    else:
        root = zarr.open_group(str(tmp_path / "elements.zarr"), mode="r")
    yield root
    if kind == "h5ad":
        root.close()


def assert_same(ours, theirs):
    """Our value equals anndata's (same values, missing entries and dtype of the data)."""
    if isinstance(theirs, pd.Categorical):
        assert isinstance(ours, Categorical)
        assert np.array_equal(np.asarray(ours.codes), np.asarray(theirs.codes))
        assert list(ours.categories) == list(theirs.categories)
        assert ours.ordered == theirs.ordered
        expected = [None if pd.isna(v) else v for v in np.asarray(theirs, dtype=object)]
        assert list(np.asarray(ours, dtype=object)) == expected
    elif isinstance(theirs, pd.api.extensions.ExtensionArray):
        assert isinstance(ours, Masked)
        missing = np.asarray(theirs.isna())
        assert np.array_equal(ours.mask, missing)
        present = theirs[~missing]
        assert list(np.asarray(ours.values)[~missing]) == list(np.asarray(present, dtype=object))
        expected = [None if m else v for m, v in zip(missing, np.asarray(theirs, dtype=object))]
        assert list(np.asarray(ours, dtype=object)) == expected
    else:
        assert isinstance(ours, np.ndarray) and isinstance(theirs, np.ndarray)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        assert np.array_equal(ours, theirs, equal_nan=ours.dtype.kind == "f")


@pytest.mark.parametrize("name", list(ELEMENTS))
def test_element_equals_anndata(store, name):
    node = store[name]
    ours, theirs = elements.read_elem(node), anndata_read_elem(node)
    assert_same(ours, theirs)


def test_encodings_read_directly_are_the_written_ones(store):
    kinds = {name: elements.encoding(store[name])[0] for name in ELEMENTS}
    assert {k for k in kinds.values()} == {
        "string-array", "array", "categorical", "nullable-integer", "nullable-boolean",
        "nullable-string-array",
    }
    assert all(elements.encoding(store[name]) in elements.KNOWN for name in ELEMENTS)
    assert Masked is type(elements.read_elem(store["nullable_string"]))
    assert elements.read_elem(store["nullable_string"]).kind == "string"
    assert elements.read_elem(store["nullable_bool"]).kind == "boolean"
    assert elements.read_elem(store["nullable_int"]).kind == "integer"


def test_missing_values(store):
    cat = elements.read_elem(store["cat"])
    assert list(cat.categories) == ["T cell", "β-cell", "細胞"]  # sorted by code point
    assert list(cat.codes) == [1, 0, -1, 1, 2]
    assert list(np.asarray(cat, dtype=object)) == ["β-cell", "T cell", None, "β-cell", "細胞"]
    ordered = elements.read_elem(store["cat_ordered"])
    assert ordered.ordered and list(ordered.categories) == ["low", "mid", "high"]
    assert elements.read_elem(store["cat"]).ordered is False
    none = elements.read_elem(store["cat_all_missing"])
    assert len(none.categories) == 0 and list(none.codes) == [-1, -1]
    ints = elements.read_elem(store["nullable_int"])
    assert list(ints.mask) == [False, True, False, False] and ints.values[3] == 2**40


@pytest.mark.parametrize("name", ["df", "df_unnamed"])
def test_dataframe_index(store, name):
    node = elements.dataframe_index_node(store[name])
    ours = elements.read_elem(node)
    assert_same(ours, anndata_read_elem(node))
    assert list(ours) == list(anndata_read_elem(store[name]).index)


def test_unknown_encodings_fall_back_to_anndata(store):
    csr = elements.read_elem(store["csr"])
    assert sp.issparse(csr) and np.array_equal(csr.toarray(), np.eye(3))
    mapping = elements.read_elem(store["mapping"])
    assert set(mapping) == {"a", "b"} and list(mapping["a"]) == [0, 1, 2]
    assert list(mapping["b"]) == ["x", "y"]


def test_a_newer_encoding_version_is_left_to_anndata(tmp_path):
    # A version this reader does not know is not guessed at: anndata decides (here it
    # refuses, and the error is anndata's, not a wrong value).
    with h5py.File(tmp_path / "v.h5", "w") as f:
        write_elem(f, "cat", pd.Categorical(["a", "b"]))
        f["cat"].attrs["encoding-version"] = "9.9.9"
        assert elements.encoding(f["cat"]) not in elements.KNOWN
        with pytest.raises(Exception) as ours:
            elements.read_elem(f["cat"])
        with pytest.raises(Exception) as theirs:
            anndata_read_elem(f["cat"])
        assert type(ours.value) is type(theirs.value)


# -- the backed sources built on this reader serve what anndata would -------------------


def _odd_columns_file(tmp_path, kind):
    """A file whose obs has the encodings the start-up path reads directly, with unicode,
    missing values and an ordered categorical; var has a categorical id column with a gap."""
    rng = np.random.default_rng(3)
    n = 200
    obs = pd.DataFrame(
        {
            "ordered": pd.Categorical(rng.choice(["low", "mid", "high"], n), categories=["low", "mid", "high"],
                                      ordered=True),
            "tissue": pd.Categorical(rng.choice(["β-cell", "T cell", "細胞"], n)),
            "nint": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 9, n)), dtype="Int64"),
            "nbool": pd.array(np.where(rng.random(n) < 0.2, None, rng.random(n) < 0.5), dtype="boolean"),
            "ids": np.array([f"id-{i}-ü" for i in range(n)], dtype=object),
        },
        index=[f"c{i}" for i in range(n)],
    )
    var = pd.DataFrame({"gene_symbols": pd.Categorical(["CD3E", None, "LYZ", "CD3E"])},
                       index=["g0", "g1", "g2", "g3"])
    adata = ad.AnnData(X=sp.random(n, 4, density=0.3, format="csr", dtype=np.float32, random_state=0),
                       obs=obs, var=var, obsm={"X_umap": rng.normal(size=(n, 2)).astype(np.float32)})
    adata.uns["tissue_colors"] = np.array(["#ff0000", "#00ff00", "#0000ff"], dtype=object)
    path = tmp_path / ("odd.h5ad" if kind == "h5ad" else "odd.zarr")
    if kind == "h5ad":
        adata.write_h5ad(path)
        root = h5py.File(path, "a")
    else:
        adata.write_zarr(path)
        root = zarr.open_group(str(path), mode="a", use_consolidated=False)
    # anndata turns string columns into categoricals on write; store a nullable string
    # column (with missing values) and a plain string column as such.
    strings = pd.array(np.where(rng.random(n) < 0.3, None, rng.choice(["x", "ÿ", "z"], n)), dtype="string")
    with ad.settings.override(allow_write_nullable_strings=True):
        write_elem(root["obs"], "nstr", strings)
        write_elem(root["obs"], "plain", rng.choice(np.array(["p", "q"], dtype=object), n))
    order = list(root["obs"].attrs["column-order"]) + ["nstr", "plain"]
    root["obs"].attrs["column-order"] = order
    if kind == "h5ad":
        root.close()
    else:
        zarr.consolidate_metadata(str(path))
    return path


@pytest.mark.parametrize("kind", ["h5ad", "zarr"])
def test_backed_source_equals_anndata_loaded_source(tmp_path, kind):
    from cellucid.data import open_source

    path = _odd_columns_file(tmp_path, kind)
    with open_source(path) as backed, open_source(path, backed=False) as loaded:
        assert backed.fields() == loaded.fields()
        assert backed.skipped_fields() == loaded.skipped_fields()
        assert {f.name: f.kind for f in backed.fields()} == {
            "ordered": "categorical", "tissue": "categorical", "nint": "continuous",
            "nbool": "boolean", "nstr": "categorical", "plain": "categorical",
        }
        for f in backed.fields():
            a, b = backed.obs_field(f.name), loaded.obs_field(f.name)
            assert (a.kind, a.categories, a.colors, a.n_missing) == (b.kind, b.categories, b.colors, b.n_missing)
            for attr in ("codes", "values"):
                x, y = getattr(a, attr), getattr(b, attr)
                assert (x is None) == (y is None)
                if x is not None:
                    assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
        # the backed source read these with cellucid.data.elements, not anndata
        assert isinstance(backed._backend.obs_column("nstr"), Masked)
        assert isinstance(backed._backend.obs_column("ordered"), Categorical)
        assert backed.obs_field("nstr").n_missing > 0 and backed.obs_field("nint").n_missing > 0
        assert backed.obs_field("tissue").colors == ["#ff0000", "#00ff00", "#0000ff"]
        assert list(backed.gene_ids("gene_symbols")) == list(loaded.gene_ids("gene_symbols")) == [
            "CD3E", "", "LYZ", "CD3E"]
        assert list(backed.gene_names()) == list(loaded.gene_names())
        assert list(backed.obs_names(np.array([0, 199]))) == ["c0", "c199"]
        assert backed.dataset_id() == loaded.dataset_id()
