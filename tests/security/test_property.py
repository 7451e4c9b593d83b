"""Property test: random small AnnData objects are written, served for real, and every route
answers valid data or a clean JSON error; a dataset that cannot be served is refused at
start with a CellucidError (message + hint), never another exception."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from route_check import check_all_routes

NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=32)


@st.composite
def anndatas(draw):
    import anndata as ad
    import scipy.sparse as sp

    n = draw(st.integers(0, 25))
    g = draw(st.integers(0, 6))
    cols = draw(st.lists(NAMES, max_size=4, unique_by=str.lower))
    obs = {}
    for name in cols:
        kind = draw(st.sampled_from(["cat", "float", "int", "bool", "str"]))
        if kind == "cat":
            cats = draw(st.lists(NAMES, min_size=1, max_size=5, unique=True))
            codes = draw(st.lists(st.integers(-1, len(cats) - 1), min_size=n, max_size=n))
            obs[f"o_{name}"] = pd.Categorical.from_codes(codes, categories=cats)
        elif kind == "float":
            obs[f"o_{name}"] = np.array(draw(st.lists(FLOATS, min_size=n, max_size=n)), dtype=np.float64)
        elif kind == "int":
            obs[f"o_{name}"] = np.array(draw(st.lists(st.integers(-2**31, 2**31 - 1), min_size=n, max_size=n)), dtype=np.int64)
        elif kind == "bool":
            obs[f"o_{name}"] = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
        else:
            obs[f"o_{name}"] = np.array(draw(st.lists(NAMES, min_size=n, max_size=n)), dtype=object)
    obs_df = pd.DataFrame(obs, index=[f"c{i}" for i in range(n)])
    var_names = draw(st.lists(NAMES, min_size=g, max_size=g))
    var = pd.DataFrame(index=pd.Index(var_names, dtype=object))
    xkind = draw(st.sampled_from(["none", "dense", "csr", "int"]))
    values = np.array(draw(st.lists(st.floats(0, 1e6, width=32), min_size=n * g, max_size=n * g)),
                      dtype=np.float32).reshape(n, g)
    X = {"none": None, "dense": values, "csr": sp.csr_matrix(values), "int": values.astype(np.int32)}[xkind]
    emb_cols = draw(st.integers(1, 4))
    umap = np.array(draw(st.lists(FLOATS, min_size=n * emb_cols, max_size=n * emb_cols)), dtype=np.float32)
    obsm = {"X_umap": umap.reshape(n, emb_cols)}
    if draw(st.booleans()):
        obsm["velocity_umap"] = np.array(draw(st.lists(FLOATS, min_size=n * emb_cols, max_size=n * emb_cols)),
                                         dtype=np.float32).reshape(n, emb_cols)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ad.AnnData(X=X, obs=obs_df, var=var, obsm=obsm) if X is not None else \
            ad.AnnData(obs=obs_df, var=var, obsm=obsm)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(adata=anndatas(), store=st.sampled_from(["h5ad", "memory"]))
def test_random_anndata_is_served_cleanly(adata, store):
    from cellucid.anndata_server import AnnDataServer
    from cellucid.data.base import CellucidError

    with tempfile.TemporaryDirectory() as tmp:
        data = adata
        if store == "h5ad":
            data = Path(tmp) / "random.h5ad"
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    adata.write_h5ad(data)
            except Exception:  # noqa: BLE001 - anndata itself cannot write it: not our input
                assume(False)
        try:
            server = AnnDataServer(data, port=0, quiet=True)
        except CellucidError as err:
            assert err.message and err.hint, err
            return
        with server:
            ident = check_all_routes(server.port)
        assert ident["stats"]["n_cells"] == adata.n_obs
