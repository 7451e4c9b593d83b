"""Serving a backed .h5ad, a .zarr or an export folder imports neither anndata nor pandas
nor scipy, up to and including the requests of the viewer's first frame.

Importing anndata alone costs ~0.7 s (pandas ~0.3 s, scipy ~0.2 s): one eager import on
the start path, or on the path of the first requests, costs the user that much on every
start. The server runs in a child Python (a fresh ``sys.modules``) that imports the CLI
module, opens the data as ``cellucid serve`` does, answers real HTTP requests, and then
reports which modules it holds. No timings are asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

HEAVY = ("anndata", "pandas", "scipy")

CHILD = textwrap.dedent(
    """
    import json, sys, urllib.parse, urllib.request

    import cellucid.cli  # the command's own module-level imports count too
    from cellucid.anndata_server import AnnDataServer

    server = AnnDataServer(sys.argv[1], port=0, quiet=True, open_browser=False).start_background()
    statuses = {}

    def get(path):
        with urllib.request.urlopen(server.base_url + path, timeout=60) as r:
            statuses[path.split("?")[0]] = r.status
            return r.read()

    health = json.loads(get("_cellucid/health"))
    identity = json.loads(get("dataset_identity.json"))
    key, dim = identity["default_embedding"], identity["default_dimension"]
    coords = get(f"_cellucid/api/embedding?key={key}&dim={dim}&format=u16")
    field = urllib.parse.quote(identity["default_field"])
    values = get(f"_cellucid/api/obs?field={field}")
    meta = json.loads(get(f"_cellucid/api/obs/meta?field={field}"))
    hits = json.loads(get("_cellucid/api/genes?q=cd3&limit=5"))
    server.stop()
    print(json.dumps({
        "modules": sorted(sys.modules), "health": health, "field": identity["default_field"],
        "n_coord_bytes": len(coords), "n_value_bytes": len(values), "meta": meta,
        "hits": hits, "statuses": statuses,
    }))
    """
)


def serve_in_child(path) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def top_level(modules: list[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def check_first_frame(report: dict, n_cells: int) -> None:
    """The requests really were answered with the dataset's data."""
    assert set(report["statuses"].values()) == {200}
    assert report["health"]["status"] == "ok" and report["health"]["n_cells"] == n_cells
    assert report["field"] == "cell_type"
    assert report["n_coord_bytes"] > 0 and report["n_value_bytes"] > 0
    assert "T cell" in json.dumps(report["meta"])
    assert "CD3E" in json.dumps(report["hits"])


@pytest.fixture
def adata(make_adata):
    return make_adata(n_cells=2000, n_genes=60)


def test_backed_h5ad_first_frame_imports_no_anndata_pandas_scipy(adata, write_h5ad):
    report = serve_in_child(write_h5ad(adata))
    check_first_frame(report, 2000)
    loaded = top_level(report["modules"])
    assert "h5py" in loaded and "tornado" in loaded  # the check sees the server's modules
    assert not loaded & {*HEAVY, "zarr"}, sorted(loaded & {*HEAVY, "zarr"})


def test_zarr_first_frame_imports_no_anndata_pandas_scipy(adata, write_zarr):
    report = serve_in_child(write_zarr(adata, zarr_format=3))
    check_first_frame(report, 2000)
    loaded = top_level(report["modules"])
    assert "zarr" in loaded  # reading a zarr store needs zarr, nothing more
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_export_folder_first_frame_imports_no_anndata_pandas_scipy(adata, tmp_path):
    from cellucid.export import prepare

    out = tmp_path / "export"
    prepare(adata, out, progress=False)
    report = serve_in_child(out)
    check_first_frame(report, 2000)
    loaded = top_level(report["modules"])
    assert not loaded & {*HEAVY, "h5py", "zarr"}, sorted(loaded & {*HEAVY, "h5py", "zarr"})
