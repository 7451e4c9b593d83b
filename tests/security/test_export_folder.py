"""An export folder is a set of files named by its own dataset_identity.json: a crafted one
must not make the server read (and send) files outside the folder."""

from __future__ import annotations

import json
import warnings

import pytest

from attack_data import SECRET
from netprobe import request


@pytest.fixture(scope="module")
def export_folder(tmp_path_factory):
    from cellucid.data.demo import demo_anndata
    from cellucid.export import prepare

    root = tmp_path_factory.mktemp("export")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = prepare(demo_anndata(500, 40), root / "good", progress=False)
    (root / "secret.bin").write_bytes(SECRET * 100)  # > 500 float32, readable as any field
    (root / "secret.json").write_text(json.dumps([SECRET.decode()] * 500))
    return out


def _crafted(export_folder, tmp_path, edit):
    import shutil

    evil = tmp_path / "evil"
    shutil.copytree(export_folder, evil)
    ident_path = evil / "dataset_identity.json"
    ident = json.loads(ident_path.read_text())
    edit(ident["export"], export_folder.parent)
    ident_path.write_text(json.dumps(ident))
    return evil


def _set_field_file(name, value):
    def edit(ex, root):
        for f in ex["fields"]:
            if f["name"] == name:
                f["file"] = value(root) if callable(value) else value
    return edit


EDITS = {
    "relative ..": (_set_field_file("n_counts", "../../secret.bin"), "/_cellucid/api/obs?field=n_counts"),
    "absolute": (_set_field_file("n_counts", lambda root: str(root / "secret.bin")), "/_cellucid/api/obs?field=n_counts"),
    "obs names": (lambda ex, root: ex.__setitem__("obs_names", "../../secret.json"), "/_cellucid/api/cells?index=0"),
    "embedding": (lambda ex, root: ex["embeddings"][0]["files"]["2"].__setitem__("file", "../../secret.bin"),
                  "/_cellucid/api/embedding?key=X_umap&dim=2"),
}


@pytest.mark.parametrize("case", list(EDITS))
def test_manifest_names_outside_the_folder_are_refused(export_folder, tmp_path, case):
    from cellucid.anndata_server import AnnDataServer

    edit, target = EDITS[case]
    evil = _crafted(export_folder, tmp_path, edit)
    with AnnDataServer(evil, port=0, quiet=True) as srv:
        answer = request(srv.port, target)
        assert answer.status in (400, 404), (answer.status, answer.body[:100])
        assert answer.is_json_error() and "outside" in answer.json()["error"]
        assert SECRET not in answer.body
        assert request(srv.port, "/_cellucid/api/obs?field=cell_type").status == 200  # the rest still serves


def test_symlink_inside_the_folder_pointing_out_is_refused(export_folder, tmp_path):
    from cellucid.anndata_server import AnnDataServer

    evil = _crafted(export_folder, tmp_path, _set_field_file("n_counts", "obs/link.bin"))
    (evil / "obs" / "link.bin").symlink_to(export_folder.parent / "secret.bin")
    with AnnDataServer(evil, port=0, quiet=True) as srv:
        answer = request(srv.port, "/_cellucid/api/obs?field=n_counts")
        assert answer.status in (400, 404) and SECRET not in answer.body


def test_the_untouched_folder_serves_every_route(export_folder):
    from cellucid.anndata_server import AnnDataServer
    from route_check import check_all_routes

    with AnnDataServer(export_folder, port=0, quiet=True) as srv:
        ident = check_all_routes(srv.port)
    assert ident["stats"]["n_cells"] == 500


def test_serving_an_export_of_a_file_never_sends_the_original_path(tmp_path):
    from cellucid.anndata_server import AnnDataServer
    from cellucid.data.demo import write_demo_h5ad
    from cellucid.export import prepare

    private = tmp_path / "private-cohort-dir"
    private.mkdir()
    write_demo_h5ad(private / "cohort.h5ad", 300, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = prepare(private / "cohort.h5ad", tmp_path / "out", progress=False)
    with AnnDataServer(out, port=0, quiet=True) as srv:
        for target in ["/dataset_identity.json", "/_cellucid/health", "/_cellucid/api/obs?field=nope"]:
            body = request(srv.port, target).body
            assert b"private-cohort-dir" not in body and str(tmp_path).encode() not in body, target
