"""A small dataset for the plot-look tests (issue 19): four well-separated clusters, cells in
pairs that share exact coordinates (one expresses gene G1, the other does not), and a
neighbour graph whose edges cross the empty middle of the plot."""

from __future__ import annotations

import numpy as np

CENTERS = np.array([[-6.0, -6.0], [6.0, -6.0], [6.0, 6.0], [-6.0, 6.0]])
CATEGORIES = ["alpha", "beta", "gamma", "delta"]
N_PAIRS = 1000


def looks_adata(n_pairs: int = N_PAIRS):
    import anndata as ad
    import pandas as pd
    import scipy.sparse as sp

    rng = np.random.default_rng(7)
    cat = np.repeat(np.arange(4), n_pairs // 4)
    xy = CENTERS[cat] + rng.normal(0, 1.3, (len(cat), 2))
    z = (cat - 1.5) * 2 + rng.normal(0, 1.0, len(cat))
    # each pair: cell 2k expresses G1, cell 2k + 1 (drawn later in index order) does not
    xy2 = np.repeat(xy, 2, axis=0)
    xyz = np.column_stack([xy2, np.repeat(z, 2)])
    n = 2 * len(cat)
    g1 = np.zeros(n, np.float32)
    g1[0::2] = 1 + (np.arange(len(cat)) % 10)
    g1[0::2][::101] = 60  # a few outliers: robust limits differ from the maximum
    g2 = rng.gamma(2.0, 1.0, n).astype(np.float32)
    X = sp.csr_matrix(np.column_stack([g1, g2]))
    obs = pd.DataFrame({"group": pd.Categorical(np.array(CATEGORIES)[np.repeat(cat, 2)], categories=CATEGORIES)},
                       index=[f"c{i}" for i in range(n)])
    var = pd.DataFrame(index=["G1", "G2"])
    # 300 edges (fewer in a small variant) between cluster alpha (bottom left) and gamma (top right): they cross the middle
    a = np.flatnonzero(obs["group"].to_numpy() == "alpha")
    g = np.flatnonzero(obs["group"].to_numpy() == "gamma")
    k = min(300, len(a), len(g))
    i, j = rng.choice(a, k, replace=False), rng.choice(g, k, replace=False)
    conn = sp.csr_matrix((np.full(k, 0.5, np.float32), (i, j)), shape=(n, n))
    adata = ad.AnnData(X=X, obs=obs, var=var)
    adata.obsm["X_umap"] = xy2.astype(np.float32)
    adata.obsm["X_umap_3d"] = xyz.astype(np.float32)
    adata.obsp["connectivities"] = conn
    return adata
