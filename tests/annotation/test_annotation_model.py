"""The annotation folder, the consensus rule and the pandas API, on real files in tmp_path."""

from __future__ import annotations

import json
import os

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from cellucid.annotation import (AnnotationFolder, Rule, annotations, annotations_to_obs, consensus,
                                 consensus_table, decide)
from cellucid.annotation._names import FILE_PATTERN, file_name
from cellucid.data.base import BadParameter, InputError


@pytest.mark.parametrize("votes, rule, lock, expected", [
    ([], Rule(), None, ("pending", None)),
    ([("a", "T")], Rule(), None, ("agreed", "T")),
    ([("a", "T"), ("b", "B")], Rule(), None, ("disputed", None)),               # tie
    ([("a", "T"), ("b", "t "), ("c", "B")], Rule(), None, ("agreed", "T")),    # case/space merge
    ([("a", "T"), ("b", "T"), ("c", "B")], Rule(min_margin=2), None, ("disputed", None)),
    ([("a", "T"), ("b", "T"), ("c", "T"), ("d", "B")], Rule(min_margin=2), None, ("agreed", "T")),
    ([("a", "T")], Rule(min_votes=2), None, ("pending", None)),
    ([("a", "T")], Rule(min_margin=2), None, ("pending", None)),                # one label, too few
    ([("a", "T"), ("b", "B")], Rule(), "B", ("locked", "B")),
    ([("a", "T"), ("b", "T")], Rule(min_votes=3), "NK", ("locked", "NK")),
])
def test_rule(votes, rule, lock, expected):
    d = decide(votes, rule, lock)
    assert (d.status, d.label) == expected


def test_rule_rejects_nonsense():
    with pytest.raises(BadParameter, match="min_margin"):
        Rule(min_margin=0)


@pytest.mark.parametrize("name", ["../../etc/passwd", "/abs/path", "..", "a/b\\c", "C:\\x", "Ana María",
                                  "名前", "x" * 80, "dr. o'brien <script>"])
def test_names_never_leave_the_folder(tmp_path, name):
    folder = AnnotationFolder(tmp_path / "ann", create=True)
    folder.vote(name, field="leiden", category="0", label="T")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert sorted(p.relative_to(tmp_path).parts[:2] for p in files) == \
        sorted([("ann", "annotators"), ("ann", "project.json")])
    [own] = folder.files()
    assert FILE_PATTERN.match(own.name) and own.parent == folder.path / "annotators"
    assert json.loads(own.read_text(encoding="utf-8"))["annotator"] == " ".join(name.split())
    assert annotations(folder)["annotator"].tolist() == [" ".join(name.split())]


def test_same_person_same_file_other_people_other_files():
    assert file_name("Ana") == file_name("  ana ") != file_name("Ana2")
    assert file_name("../x") != file_name("x")  # same slug, different hash


@pytest.mark.parametrize("bad, message", [("", "annotator name is empty"), (None, "must be text"),
                                          ("x" * 81, "at most 80")])
def test_bad_annotator_names(tmp_path, bad, message):
    folder = AnnotationFolder(tmp_path / "ann", create=True)
    with pytest.raises(BadParameter, match=message):
        folder.vote(bad, field="leiden", category="0", label="T")
    assert folder.files() == []


def test_one_file_per_annotator_and_votes_replace(tmp_path):
    folder = AnnotationFolder(tmp_path / "ann", create=True, author="Ana")
    folder.vote("Ana", field="leiden", category="0", label="T cell")
    bo_before = None
    folder.vote("Bo", field="leiden", category="0", label="B cell")
    bo_file = folder.path / "annotators" / file_name("Bo")
    bo_before = bo_file.read_bytes()
    folder.vote("Ana", field="leiden", category="0", label="NK", note="changed my mind", confidence=0.5)
    assert bo_file.read_bytes() == bo_before  # Ana's vote never touches Bo's file
    table = annotations(folder)
    assert sorted(zip(table.annotator, table.label)) == [("Ana", "NK"), ("Bo", "B cell")]
    row = table[table.annotator == "Ana"].iloc[0]
    assert (row.note, row.confidence, row.status) == ("changed my mind", 0.5, "disputed")
    assert folder.retract("Ana", field="leiden", category="0") is True
    assert annotations(folder).annotator.tolist() == ["Bo"]


def test_lock_is_for_the_author_only(tmp_path):
    folder = AnnotationFolder(tmp_path / "ann", create=True, author="Ana")
    folder.vote("Bo", field="leiden", category="1", label="B")
    folder.vote("Cy", field="leiden", category="1", label="T")
    with pytest.raises(BadParameter, match="only the project's author"):
        folder.lock("Bo", "B", field="leiden", category="1")
    folder.lock("ana", "Plasma", field="leiden", category="1")
    row = consensus_table(folder).iloc[0]
    assert (row.status, row.label, row.n_votes) == ("locked", "Plasma", 2)
    folder.lock("Ana", None, field="leiden", category="1")
    assert consensus_table(folder).iloc[0].status == "disputed"


def _adata():
    obs = pd.DataFrame({"leiden": pd.Categorical(["0", "0", "1", "1", "2", "2", "0", "1"]),
                        "sample": ["a", "b"] * 4, "score": np.arange(8.0)},
                       index=[f"c{i}" for i in range(8)])
    return ad.AnnData(obs=obs)


def test_consensus_per_cell_and_data_file_untouched(tmp_path):
    adata = _adata()
    data_file = tmp_path / "data.h5ad"
    adata.write_h5ad(data_file)
    before = (data_file.read_bytes(), data_file.stat().st_mtime_ns)
    folder = AnnotationFolder(tmp_path / "ann", create=True, author="Ana")
    folder.vote("Ana", field="leiden", category="0", label="T cell")
    folder.vote("Bo", field="leiden", category="0", label="T cell")
    folder.vote("Ana", field="leiden", category="1", label="B cell")
    folder.vote("Bo", field="leiden", category="1", label="NK")          # tie → disputed
    folder.vote("Bo", field="leiden", category="2", label="Mono")
    folder.label_cells("Cy", [4], "Doublet", n_cells=8)                 # a set overrides its cluster
    folder.vote("Ana", field="score", category="1.0", label="ignored")  # continuous: skipped

    from_file = ad.read_h5ad(data_file, backed="r")
    series = consensus(folder, from_file)
    assert series.name == "annotation" and isinstance(series.dtype, pd.CategoricalDtype)
    assert series.index.tolist() == [f"c{i}" for i in range(8)]
    assert series.astype(object).where(series.notna(), None).tolist() == \
        ["T cell", "T cell", "disputed", "disputed", "Doublet", "Mono", "T cell", "disputed"]
    from_file.file.close()
    assert (data_file.read_bytes(), data_file.stat().st_mtime_ns) == before

    key = annotations_to_obs(adata, folder)
    assert key == "annotation" and adata.obs["annotation"].tolist()[:2] == ["T cell", "T cell"]
    assert annotations_to_obs(adata, tmp_path / "ann", key="team") == "team"


def test_cell_sets_are_shared_by_id(tmp_path):
    folder = AnnotationFolder(tmp_path / "ann", create=True)
    vote = folder.label_cells("Ana", [5, 3, 4, 3], "Odd", n_cells=8)
    definition = folder.annotator_file("Ana").sets[vote["set"]]
    assert definition == {"n_cells": 8, "ranges": [[3, 6]], "size": 3}
    folder.vote("Bo", "Even", set=vote["set"], set_definition=definition)
    assert consensus_table(folder).iloc[0].status == "disputed"
    with pytest.raises(BadParameter, match="unknown cell set"):
        folder.vote("Cy", "x", set="cells-000000000000")
    with pytest.raises(BadParameter, match="out of range"):
        folder.label_cells("Ana", [8], "x", n_cells=8)
    with pytest.raises(BadParameter, match="empty"):
        folder.label_cells("Ana", [], "x", n_cells=8)


def test_bad_folders_and_files(tmp_path):
    data_file = tmp_path / "data.h5ad"
    data_file.write_bytes(b"not touched")
    with pytest.raises(InputError, match="is a file, not an annotation folder"):
        AnnotationFolder(data_file, create=True)
    assert data_file.read_bytes() == b"not touched"
    with pytest.raises(InputError, match="cellucid annotate init"):
        AnnotationFolder(tmp_path / "missing")
    folder = AnnotationFolder(tmp_path / "ann", create=True)
    folder.vote("Ana", field="leiden", category="0", label="T")
    (folder.path / "annotators" / file_name("Bo")).write_text("{broken", encoding="utf-8")
    (folder.path / "annotators" / file_name("Cy")).write_text(
        json.dumps({"format": "cellucid-annotations", "annotator": "Someone else", "votes": []}), encoding="utf-8")
    from cellucid.annotation import summarize

    summary = summarize(folder)
    assert summary.annotators == ["Ana"]
    assert len(summary.problems) == 2 and any("must be named" in p for p in summary.problems)
    with pytest.raises(BadParameter, match="confidence must be between 0 and 1"):
        folder.vote("Ana", field="leiden", category="0", label="T", confidence=3)
    (folder.path / "project.json").write_text("[]", encoding="utf-8")
    with pytest.raises(InputError, match="project.json cannot be read"):
        annotations(folder)
    assert not [p for p in os.listdir(folder.path / "annotators") if p.startswith(".tmp")]
