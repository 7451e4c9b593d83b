"""Every HTTP route of docs/http-api.md against a real server and real files."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import scipy.sparse as sp

from server_http import Client

API = "/_cellucid/api"


def gene_column(adata, index: int) -> np.ndarray:
    col = adata.X[:, index]
    col = col.toarray() if sp.issparse(col) else np.asarray(col)
    return col.ravel().astype(np.float32)


# -- health and identity -------------------------------------------------------------------
def test_health_reports_the_dataset(demo):
    r = demo.get("/_cellucid/health")
    assert r.status == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["source_kind"] == "demo"
    assert (body["n_cells"], body["n_genes"]) == (2000, 2000)
    assert body["dataset_id"].startswith("ds-")


def test_identity_of_the_demo_has_every_documented_key(demo):
    ident = demo.get("/dataset_identity.json").json()
    assert set(ident) >= {"version", "id", "name", "source_kind", "cellucid_version", "stats",
                          "embeddings", "default_embedding", "default_dimension", "fields",
                          "default_field", "genes", "latent_key", "neighbors", "vector_fields"}
    assert ident["source_kind"] == "demo"
    assert ident["stats"]["n_cells"] == 2000
    umap = next(e for e in ident["embeddings"] if e["key"] == "X_umap")
    assert umap["dimensions"] == [1, 2, 3]
    assert ident["default_dimension"] == 2
    assert ident["default_field"] == "cell_type"
    kinds = {f["name"]: f["kind"] for f in ident["fields"]}
    assert kinds["cell_type"] == "categorical" and kinds["pseudotime"] == "continuous"
    assert ident["genes"]["available"] is True and ident["genes"]["reason"] is None
    vf = ident["vector_fields"]
    assert vf["default_field"] in vf["fields"]
    assert vf["fields"][vf["default_field"]]["available_dimensions"] == [2, 3]
    assert ident["stats"]["n_obs_fields"] == len(ident["fields"])


@pytest.mark.parametrize("fixture", ["h5ad_server", "zarr2_server", "zarr3_server"])
def test_identity_of_files_written_by_anndata(fixture, request, small_adata):
    server = request.getfixturevalue(fixture)
    ident = Client(server.base_url).get("/dataset_identity.json").json()
    assert ident["source_kind"] == fixture.removesuffix("_server").rstrip("23")
    assert ident["stats"]["n_cells"] == small_adata.n_obs
    assert ident["stats"]["n_genes"] == small_adata.n_vars
    assert {f["name"] for f in ident["fields"]} == set(small_adata.obs.columns)
    assert "gene_ids" in ident["genes"]["id_columns"]


@pytest.mark.parametrize("fixture", ["zarr2_server", "zarr3_server"])
def test_zarr_stores_serve_the_same_values(fixture, request, small_adata):
    client = Client(request.getfixturevalue(fixture).base_url)
    np.testing.assert_array_equal(client.get(f"{API}/gene", {"name": "MS4A1"}).array(),
                                  gene_column(small_adata, list(small_adata.var_names).index("MS4A1")))
    np.testing.assert_array_equal(client.get(f"{API}/embedding", {"key": "X_umap", "dim": 2}).array(),
                                  small_adata.obsm["X_umap"][:, :2].astype(np.float32))
    codes = client.get(f"{API}/obs", {"field": "batch"}).array()
    np.testing.assert_array_equal(codes, small_adata.obs["batch"].cat.codes.to_numpy())


def test_identity_id_is_stable_across_servers_of_the_same_file(h5ad_file, h5ad):
    from cellucid.anndata_server import AnnDataServer

    first = h5ad.get("/dataset_identity.json").json()["id"]
    with AnnDataServer(h5ad_file, port=0, quiet=True, gene_id_column="gene_ids") as other:
        assert Client(other.base_url).get("/dataset_identity.json").json()["id"] == first


# -- embedding -------------------------------------------------------------------------------
def test_embedding_f32_equals_the_obsm_values(h5ad, small_adata):
    r = h5ad.get(f"{API}/embedding", {"key": "X_umap", "dim": 2, "format": "f32"})
    assert r.status == 200
    assert r.headers["Content-Type"] == "application/octet-stream"
    np.testing.assert_array_equal(r.array(), small_adata.obsm["X_umap"][:, :2].astype(np.float32))


def test_embedding_u16_decodes_to_the_obsm_values_within_one_step(h5ad, small_adata):
    import json

    r = h5ad.get(f"{API}/embedding", {"key": "X_tsne", "dim": 2, "format": "u16"})
    q = r.array()
    assert q.dtype == np.uint16 and q.shape == (small_adata.n_obs, 2)
    bounds = np.array(json.loads(r.headers["X-Cellucid-Bounds"]))
    decoded = bounds[:, 0] + q / 65534.0 * (bounds[:, 1] - bounds[:, 0])
    step = (bounds[:, 1] - bounds[:, 0]) / 65534.0
    assert np.all(np.abs(decoded - small_adata.obsm["X_tsne"][:, :2]) <= step)
    assert q.max() == 65534 and q.min() == 0


def test_embedding_dim_1_is_the_first_column(h5ad, small_adata):
    values = h5ad.get(f"{API}/embedding", {"key": "X_umap", "dim": 1}).array()
    np.testing.assert_array_equal(values.ravel(), small_adata.obsm["X_umap"][:, 0].astype(np.float32))


# -- obs -------------------------------------------------------------------------------------
def test_categorical_obs_codes_with_missing_as_255(h5ad, small_adata):
    r = h5ad.get(f"{API}/obs", {"field": "cell_type"})
    assert r.headers["X-Cellucid-Field-Kind"] == "categorical"
    codes = r.array()
    assert codes.dtype == np.uint8
    expected = small_adata.obs["cell_type"].cat.codes.to_numpy()
    assert np.all(codes[expected < 0] == 255)
    np.testing.assert_array_equal(codes[expected >= 0], expected[expected >= 0])


def test_continuous_obs_values_with_nan_for_missing(h5ad, small_adata):
    r = h5ad.get(f"{API}/obs", {"field": "pseudotime"})
    assert r.headers["X-Cellucid-Field-Kind"] == "continuous"
    values = r.array()
    expected = small_adata.obs["pseudotime"].to_numpy(dtype=np.float32)
    np.testing.assert_array_equal(np.isnan(values), np.isnan(expected))
    np.testing.assert_allclose(values[~np.isnan(values)], expected[~np.isnan(expected)])
    assert float(r.headers["X-Cellucid-Min"]) == pytest.approx(np.nanmin(expected))


def test_obs_meta_has_categories_colors_and_counts(h5ad, small_adata):
    meta = h5ad.get(f"{API}/obs/meta", {"field": "cell_type"}).json()
    cats = list(small_adata.obs["cell_type"].cat.categories)
    assert meta["categories"] == cats
    assert meta["colors"] == list(small_adata.uns["cell_type_colors"])
    counts = small_adata.obs["cell_type"].value_counts().reindex(cats).tolist()
    assert meta["counts"] == counts
    assert meta["n_missing"] == 3
    assert meta["missing_code"] == 255


def test_obs_meta_of_a_continuous_field_has_its_range(h5ad, small_adata):
    meta = h5ad.get(f"{API}/obs/meta", {"field": "pseudotime"}).json()
    assert meta["kind"] == "continuous" and meta["n_missing"] == 2
    assert meta["min"] == pytest.approx(float(np.nanmin(small_adata.obs["pseudotime"])))


def test_obs_field_names_with_spaces_ampersands_and_unicode(h5ad, small_adata):
    name = "group: with space é &x=1"
    meta = h5ad.get(f"{API}/obs/meta", {"field": name}).json()
    assert meta["name"] == name
    assert meta["categories"] == list(small_adata.obs[name].cat.categories)


# -- genes -----------------------------------------------------------------------------------
def test_gene_by_name_equals_the_anndata_column(h5ad, small_adata):
    r = h5ad.get(f"{API}/gene", {"name": "CD3E"})
    index = list(small_adata.var_names).index("CD3E")
    assert int(r.headers["X-Cellucid-Gene-Index"]) == index
    np.testing.assert_array_equal(r.array(), gene_column(small_adata, index))


def test_gene_name_lookup_is_case_insensitive(h5ad, small_adata):
    r = h5ad.get(f"{API}/gene", {"name": "cd3e"})
    assert r.headers["X-Cellucid-Gene-Name"] == "CD3E"


def test_gene_by_id_column_equals_the_anndata_column(h5ad, small_adata):
    gene_id = small_adata.var["gene_ids"].iloc[42]
    r = h5ad.get(f"{API}/gene", {"name": gene_id, "column": "gene_ids"})
    assert int(r.headers["X-Cellucid-Gene-Index"]) == 42
    np.testing.assert_array_equal(r.array(), gene_column(small_adata, 42))


def test_gene_by_index_equals_the_anndata_column(h5ad, small_adata):
    r = h5ad.get(f"{API}/gene", {"index": 123})
    assert r.headers["X-Cellucid-Gene-Name"] == small_adata.var_names[123]
    np.testing.assert_array_equal(r.array(), gene_column(small_adata, 123))


def test_gene_search_puts_exact_matches_first_and_is_case_insensitive(demo):
    body = demo.get(f"{API}/genes", {"q": "cd3e"}).json()
    assert body["genes"][0]["name"] == "CD3E"
    assert body["genes"][0]["id"] is not None


def test_gene_search_by_prefix_honours_the_limit(demo):
    body = demo.get(f"{API}/genes", {"q": "gene00", "limit": 5}).json()
    assert len(body["genes"]) == 5
    assert body["total"] > 5
    assert all(g["name"].lower().startswith("gene00") for g in body["genes"])


def test_gene_search_matches_id_columns(h5ad, small_adata):
    gene_id = small_adata.var["gene_ids"].iloc[7]
    body = h5ad.get(f"{API}/genes", {"q": gene_id.lower()}).json()
    assert body["genes"][0]["index"] == 7


# -- vectors and cells -----------------------------------------------------------------------
def test_vectors_equal_the_obsm_velocity(h5ad, small_adata):
    ident = h5ad.get("/dataset_identity.json").json()
    field = ident["vector_fields"]["default_field"]
    for dim in (2, 3):
        r = h5ad.get(f"{API}/vectors", {"field": field, "dim": dim})
        np.testing.assert_allclose(r.array(), small_adata.obsm[f"velocity_umap_{dim}d"].astype(np.float32))


def test_cells_give_names_and_values_with_null_for_missing(h5ad, small_adata):
    body = h5ad.get(f"{API}/cells", {"index": "0,1,7"}).json()
    cells = body["cells"]
    assert [c["index"] for c in cells] == [0, 1, 7]
    assert cells[2]["name"] == small_adata.obs_names[7]
    assert cells[0]["fields"]["cell_type"] is None  # set missing in the fixture
    assert cells[1]["fields"]["pseudotime"] is None
    assert cells[2]["fields"]["cell_type"] == small_adata.obs["cell_type"].iloc[7]
    assert cells[2]["fields"]["n_counts"] == pytest.approx(float(small_adata.obs["n_counts"].iloc[7]))


# -- transport -------------------------------------------------------------------------------
def test_binary_responses_are_gzipped_when_accepted(h5ad, small_adata):
    plain = h5ad.get(f"{API}/gene", {"name": "LYZ"})
    zipped = h5ad.get(f"{API}/gene", {"name": "LYZ"}, Accept_Encoding="gzip")
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert len(zipped.body) < len(plain.body)
    assert gzip.decompress(zipped.body) == plain.body


def test_json_responses_are_gzipped_when_accepted(demo):
    r = demo.get("/dataset_identity.json", Accept_Encoding="gzip")
    assert r.headers["Content-Encoding"] == "gzip"
    assert b'"source_kind":"demo"' in gzip.decompress(r.body)


def test_etag_gives_304_on_revalidation(h5ad):
    first = h5ad.get(f"{API}/obs", {"field": "batch"})
    etag = first.headers["ETag"]
    again = h5ad.get(f"{API}/obs", {"field": "batch"}, If_None_Match=etag)
    assert again.status == 304 and again.body == b""
    other = h5ad.get(f"{API}/obs", {"field": "leiden"}, If_None_Match=etag)
    assert other.status == 200


def test_etag_differs_between_datasets(demo, h5ad):
    a = demo.get("/dataset_identity.json").headers["ETag"]
    b = h5ad.get("/dataset_identity.json").headers["ETag"]
    assert a != b


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("path, params, status", [
    (f"{API}/gene", {"name": "NOT_A_GENE"}, 404),
    (f"{API}/obs", {"field": "not_a_field"}, 404),
    (f"{API}/obs/meta", {"field": "not_a_field"}, 404),
    (f"{API}/embedding", {"key": "X_nope"}, 404),
    (f"{API}/vectors", {"field": "nope"}, 404),
    (f"{API}/embedding", {"key": "X_tsne", "dim": 3}, 400),
    (f"{API}/embedding", {"key": "X_umap", "dim": "two"}, 400),
    (f"{API}/embedding", {"key": "X_umap", "format": "png"}, 400),
    (f"{API}/gene", {"index": 10_000}, 400),
    (f"{API}/gene", {}, 400),
    (f"{API}/obs", {}, 400),
    (f"{API}/cells", {"index": ",".join(map(str, range(101)))}, 400),
    (f"{API}/cells", {"index": "5,x"}, 400),
    (f"{API}/cells", {"index": "99999"}, 400),
    (f"{API}/genes", {"q": "a", "limit": 0}, 400),
    ("/no/such/route", {}, 404),
])
def test_errors_are_json_with_a_hint(h5ad, path, params, status):
    r = h5ad.get(path, params)
    assert r.status == status
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["error"] and body["hint"]
    assert "Traceback" not in r.body.decode()
