"""``cellucid annotate sync`` with the real git command: two clones of one bare repository in
tmp_path, votes made in one appear in the other, a refused push keeps the local votes."""

from __future__ import annotations

import subprocess

import pytest

from cellucid.annotation import AnnotationFolder, annotations
from cellucid.annotation.sync import SyncError, sync
from cli_process import run_cli


def git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def team(tmp_path):
    """A bare 'remote', Ana's clone holding the annotation folder, and Bo's clone of it."""
    bare = tmp_path / "remote.git"
    git("init", "-q", "--bare", "-b", "main", str(bare))
    ana, bo = tmp_path / "ana", tmp_path / "bo"
    git("clone", "-q", str(bare), str(ana))
    git("-C", str(ana), "checkout", "-q", "-b", "main")
    AnnotationFolder(ana / "labels", create=True, author="Ana")
    first = sync(ana / "labels")  # no git identity configured: commits as the annotator, nothing stored
    assert first.committed and first.pushed
    git("clone", "-q", str(bare), str(bo))
    return bare, ana / "labels", bo / "labels"


def test_votes_travel_between_clones(team):
    bare, ana, bo = team
    AnnotationFolder(ana).vote("Ana", field="leiden", category="0", label="T cell")
    AnnotationFolder(bo).vote("Bo", field="leiden", category="0", label="NK")
    AnnotationFolder(bo).vote("Bo", field="leiden", category="1", label="B cell")
    r_ana = sync(ana, annotator="Ana")
    r_bo = sync(bo, annotator="Bo")  # Ana pushed first: Bo's sync rebases onto her commit, no conflict
    assert r_ana.pushed and r_bo.pushed and r_bo.pulled == 1
    r_ana2 = sync(ana, annotator="Ana")
    assert not r_ana2.committed and r_ana2.pulled == 1
    for folder in (ana, bo):
        table = annotations(folder)
        assert sorted(zip(table.annotator, table.category, table.label)) == [
            ("Ana", "0", "T cell"), ("Bo", "0", "NK"), ("Bo", "1", "B cell")]
        assert table[table.category == "0"].status.unique().tolist() == ["disputed"]
    log = git("--git-dir", str(bare), "log", "--format=%s", "main")
    assert log.splitlines()[:2] == ["annotations: Bo", "annotations: Ana"]


def test_sync_commits_only_the_named_annotator(team):
    _, ana, _ = team
    folder = AnnotationFolder(ana)
    folder.vote("Ana", field="leiden", category="0", label="T")
    folder.vote("Guest", field="leiden", category="0", label="B")
    sync(ana, annotator="Ana")
    status = git("-C", str(ana), "status", "--porcelain", "--untracked-files=all")
    assert "guest-" in status and "ana-" not in status


def test_a_refused_push_keeps_the_local_votes(team, tmp_path):
    bare, ana, _ = team
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'annotations are frozen for the release' >&2\nexit 1\n")
    hook.chmod(0o755)
    AnnotationFolder(ana).vote("Ana", field="leiden", category="2", label="Mono")
    with pytest.raises(SyncError, match="the remote refused the push.*frozen for the release") as err:
        sync(ana, annotator="Ana")
    assert "kept in a local commit" in err.value.hint
    assert annotations(ana).label.tolist() == ["Mono"]
    assert git("-C", str(ana), "log", "-1", "--format=%s") == "annotations: Ana\n"
    hook.unlink()
    assert sync(ana, annotator="Ana").pushed  # once the remote accepts again, the same commit goes
    assert "annotations: Ana" in git("--git-dir", str(bare), "log", "--format=%s", "main")


def test_cli_sync_and_its_errors(team, tmp_path):
    _, ana, bo = team
    AnnotationFolder(bo).vote("Bo", field="leiden", category="0", label="T")
    done = run_cli("annotate", "sync", str(bo), "--annotator", "Bo")
    assert done.returncode == 0, done.stderr
    assert "committed: annotations: Bo" in done.stdout and "pushed" in done.stdout
    shown = run_cli("annotate", "show", str(bo))
    assert shown.stdout.strip() == "leiden=0\tagreed\tT\tT: Bo"
    plain = tmp_path / "plain"
    AnnotationFolder(plain, create=True)
    bad = run_cli("annotate", "sync", str(plain))
    assert bad.returncode == 2 and "not in a git repository" in bad.stderr and "git init" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = run_cli("annotate", "sync", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "not an annotation folder" in missing.stderr


def test_cli_init(tmp_path):
    made = run_cli("annotate", "init", str(tmp_path / "labels"), "--author", "Ana", "--min-votes", "2")
    assert made.returncode == 0 and "author: Ana" in made.stdout
    project = AnnotationFolder(tmp_path / "labels").project()
    assert (project.author, project.rule.min_votes) == ("Ana", 2)
    again = run_cli("annotate", "init", str(tmp_path / "labels"))
    assert again.returncode == 2 and "already an annotation folder" in again.stderr


def test_sync_from_the_viewer_route(team, clustered_h5ad):
    """``POST /_cellucid/api/annotations/sync`` (the panel's sync button) runs the same sync on
    the server's machine: a vote made through the server reaches the other clone; a refused
    push answers a JSON error with git's reason and keeps the vote."""
    import json as _json

    from cellucid.anndata_server import AnnDataServer
    from server_http import Client

    bare, ana, bo = team
    with AnnDataServer(clustered_h5ad, port=0, quiet=True, annotations=ana) as server:
        client = Client(server.base_url)

        def post(action, body):
            return client.request("POST", f"/_cellucid/api/annotations/{action}", body=_json.dumps(body).encode(),
                                  headers={"X-Cellucid-Token": server.token})

        assert post("vote", {"annotator": "Ana", "field": "leiden", "category": "3", "label": "NK"}).status == 200
        assert client.request("POST", "/_cellucid/api/annotations/sync", body=b"{}").status == 403  # no token
        done = post("sync", {})
        assert done.status == 200, done.body
        assert done.json()["sync"]["pushed"] and done.json()["sync"]["committed"]
        sync(bo)
        assert annotations(bo).label.tolist() == ["NK"]

        hook = bare / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\necho 'read-only mirror' >&2\nexit 1\n")
        hook.chmod(0o755)
        post("vote", {"annotator": "Ana", "field": "leiden", "category": "3", "label": "T"})
        refused = post("sync", {})
        assert refused.status == 400 and "refused the push" in refused.json()["error"]
        assert "read-only mirror" in refused.json()["error"] and "local commit" in refused.json()["hint"]
        assert annotations(ana).label.tolist() == ["T"]
