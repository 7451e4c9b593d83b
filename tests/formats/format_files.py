"""Files in the formats other tools write: Cell Ranger v3 (HDF5 and MatrixMarket, laid out as
10x Genomics documents them), Loom (written by loompy) and MuData (written by mudata).
Used by tests/formats and tests/browser (a unique module name, so imports never pick another
folder's conftest).

``counts_data(n_cells, n_genes, n_adt, seed)`` → ``(X csr cells × features, barcodes, ids,
names, types)``: Poisson counts from three cell populations with different mean profiles
(so clustering finds groups), feature names with one duplicated symbol (``DUP``) and
``n_adt`` antibody-capture features at the end.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import h5py
import numpy as np
import scipy.io
import scipy.sparse as sp


def counts_data(n_cells: int = 600, n_genes: int = 120, n_adt: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n_cells)
    n_features = n_genes + n_adt
    base = rng.gamma(0.3, 1.0, size=(3, n_features))
    base[:, : n_genes // 10] *= 12  # a few highly expressed genes
    for g in range(3):  # each population has its own marker genes
        base[g, 10 + 15 * g : 25 + 15 * g] += 6.0
    X = sp.csr_matrix(rng.poisson(base[group]).astype(np.int32))
    barcodes = np.array([f"{''.join(rng.choice(list('ACGT'), 16))}-1" for _ in range(n_cells)], dtype=object)
    ids = np.array([f"ENSG{i:011d}" for i in range(n_genes)] + [f"ADT{i}" for i in range(n_adt)], dtype=object)
    names = [f"GENE{i}" for i in range(n_genes)] + [f"CD{i}_TotalSeqB" for i in range(n_adt)]
    names[5] = names[6] = "DUP"
    names[3] = "CD3E"
    types = np.array(["Gene Expression"] * n_genes + ["Antibody Capture"] * n_adt, dtype=object)
    return X, barcodes, ids, np.array(names, dtype=object), types


def _bytes(values) -> np.ndarray:
    return np.array([str(v).encode() for v in values], dtype="S")


def write_10x_h5(path: Path, X, barcodes, ids, names, types, genome: str = "GRCh38") -> Path:
    """Cell Ranger v3 ``filtered_feature_bc_matrix.h5``: /matrix holds the features × barcodes
    matrix column by column (one barcode = one column), i.e. the cells × features CSR arrays."""
    X = sp.csr_matrix(X)
    with h5py.File(path, "w") as f:
        f.attrs["filetype"] = "matrix"
        f.attrs["version"] = 2
        m = f.create_group("matrix")
        m.create_dataset("barcodes", data=_bytes(barcodes))
        m.create_dataset("data", data=X.data.astype(np.int32), compression="gzip")
        m.create_dataset("indices", data=X.indices.astype(np.int64), compression="gzip")
        m.create_dataset("indptr", data=X.indptr.astype(np.int64), compression="gzip")
        m.create_dataset("shape", data=np.array([X.shape[1], X.shape[0]], dtype=np.int32))
        ft = m.create_group("features")
        ft.create_dataset("_all_tag_keys", data=_bytes(["genome"]))
        ft.create_dataset("feature_type", data=_bytes(types))
        ft.create_dataset("genome", data=_bytes([genome] * len(ids)))
        ft.create_dataset("id", data=_bytes(ids))
        ft.create_dataset("name", data=_bytes(names))
    return path


def write_10x_mtx(folder: Path, X, barcodes, ids, names, types, gz: bool = True) -> Path:
    """Cell Ranger v3 MatrixMarket folder: matrix.mtx (features × barcodes), features.tsv
    (id, name, type), barcodes.tsv; gzipped as Cell Ranger writes them, or plain."""
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    scipy.io.mmwrite(buf, sp.coo_matrix(sp.csr_matrix(X).T), field="integer")
    files = {
        "matrix.mtx": buf.getvalue(),
        "features.tsv": "".join(f"{i}\t{n}\t{t}\n" for i, n, t in zip(ids, names, types)).encode(),
        "barcodes.tsv": "".join(f"{b}\n" for b in barcodes).encode(),
    }
    for name, data in files.items():
        if gz:
            with gzip.open(folder / f"{name}.gz", "wb") as fh:
                fh.write(data)
        else:
            (folder / name).write_bytes(data)
    return folder


def fingerprint(path: Path) -> dict:
    """Bytes and mtime of a file, or of every file under a folder."""
    paths = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}


def refused(path: Path, error: type = None, **options):
    """The error ``open_source(path, **options)`` raises (an ``InputError`` unless ``error``
    names a subclass), after checking that the file's bytes and mtime are unchanged."""
    import pytest

    from cellucid.data import InputError, open_source

    before = fingerprint(path)
    with pytest.raises(error or InputError) as err:
        open_source(path, **options)
    assert fingerprint(path) == before
    return err.value


def write_loom(path: Path, n_cells: int = 400, n_genes: int = 60, col_attrs: bool = True, seed: int = 1) -> Path:
    """A Loom file written by loompy: genes × cells matrix, a ``spliced`` layer, gene names
    and accessions, and per cell: CellID, _X/_Y, a 3-column ``X_umap``, a 2-column ``tsne``,
    a string cluster and a number."""
    import loompy

    X, barcodes, ids, names, _ = counts_data(n_cells, n_genes, 0, seed)
    dense = X.toarray().T.astype(np.float32)
    rng = np.random.default_rng(seed)
    cols = {}
    if col_attrs:
        cols = {
            "CellID": barcodes.astype(str),
            "_X": rng.normal(size=n_cells), "_Y": rng.normal(size=n_cells),
            "X_umap": rng.normal(size=(n_cells, 3)), "tsne": rng.normal(size=(n_cells, 2)),
            "ClusterName": np.array(["T cell", "B cell", "Mono"])[rng.integers(0, 3, n_cells)],
            "n_counts": dense.sum(axis=0).astype(np.float64),
        }
    loompy.create(str(path), {"": dense, "spliced": dense * 2},
                  row_attrs={"Gene": names.astype(str), "Accession": ids.astype(str)}, col_attrs=cols)
    return path


def make_mudata(n_cells: int = 300, embed: bool = True, seed: int = 2):
    """A MuData with ``rna`` (CSR counts, obs ``leiden``, obsm ``X_umap`` if ``embed``) over all
    cells and ``prot`` (dense, 5 proteins) over the first 80% of the cells in another order;
    global obs ``sample`` and, if ``embed``, global obsm ``X_wnn_umap``."""
    import anndata as ad
    import mudata
    import pandas as pd

    rng = np.random.default_rng(seed)
    X, barcodes, ids, names, _ = counts_data(n_cells, 50, 0, seed)
    names = names.copy()
    names[6] = "GENE6"
    rna = ad.AnnData(sp.csr_matrix(X, dtype=np.float32),
                     obs=pd.DataFrame({"leiden": pd.Categorical(rng.integers(0, 4, n_cells).astype(str)),
                                       "n_counts": np.asarray(X.sum(1)).ravel().astype(float)},
                                      index=barcodes.astype(str)),
                     var=pd.DataFrame({"gene_ids": ids.astype(str)}, index=names.astype(str)))
    rna.obsm["X_umap" if embed else "pca_like"] = rng.normal(size=(n_cells, 2)).astype(np.float32)
    keep = rng.permutation(n_cells)[: int(n_cells * 0.8)]
    prot = ad.AnnData(rng.gamma(2.0, 1.0, size=(keep.size, 5)).astype(np.float32),
                      obs=pd.DataFrame({"quality": rng.random(keep.size) < 0.5}, index=barcodes[keep].astype(str)),
                      var=pd.DataFrame(index=[f"CD{i}-prot" for i in range(5)]))
    mdata = mudata.MuData({"rna": rna, "prot": prot})
    mdata.obs["sample"] = pd.Categorical(np.where(rng.random(mdata.n_obs) < 0.5, "s1", "s2"))
    if embed:
        mdata.obsm["X_wnn_umap"] = rng.normal(size=(mdata.n_obs, 2)).astype(np.float32)
    return mdata


def write_h5mu(path: Path, **kw) -> Path:
    make_mudata(**kw).write_h5mu(path)
    return path
