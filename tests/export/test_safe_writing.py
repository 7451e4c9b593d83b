"""An export folder is either complete or absent: interrupted exports, force, stale files."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

import cellucid
from cellucid.data import InputError, open_source

# The child exports a demo h5ad; at the gene step it announces itself and blocks, so the
# parent kills it at a known point (embeddings and obs written, identity not yet).
_CHILD = textwrap.dedent(
    """
    import sys, time
    import cellucid.export._writer as w
    from cellucid.export import prepare

    real = w.write_gene_major
    def blocked(*a, **k):
        print("IN-GENES", flush=True)
        time.sleep(600)
        return real(*a, **k)
    w.write_gene_major = blocked
    prepare(sys.argv[1], sys.argv[2], force=True, progress=False)
    """
)


@pytest.fixture
def demo_h5ad(tmp_path, demo_adata):
    path = tmp_path / "demo.h5ad"
    demo_adata.write_h5ad(path)
    return path


def _run_and_kill(src, out):
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(src), str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "IN-GENES"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    return child


def test_killed_export_leaves_nothing_servable(tmp_path, demo_h5ad):
    out = tmp_path / "exp"
    _run_and_kill(demo_h5ad, out)
    assert not out.exists()
    with pytest.raises(InputError):
        open_source(out)
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".exp.tmp-")]
    assert len(leftovers) == 1
    assert (leftovers[0] / "embeddings").is_dir()  # it really was killed mid-way
    assert not (leftovers[0] / "dataset_identity.json").exists()
    with pytest.raises(InputError):
        open_source(leftovers[0])
    # the next export to the same target cleans the dead process's leftovers
    cellucid.prepare(demo_h5ad, out, progress=False)
    assert not leftovers[0].exists()
    with open_source(out) as src:
        assert src.summary().n_cells == 3000


def test_killed_forced_export_keeps_the_previous_one(tmp_path, demo_h5ad, demo_adata):
    out = cellucid.prepare(demo_adata, tmp_path / "exp", obs_keys=["cell_type"], progress=False)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    _run_and_kill(demo_h5ad, out)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    with open_source(out) as src:
        assert [f.name for f in src.fields()] == ["cell_type"]


def test_existing_folder_refused_without_force_and_replaced_whole_with_it(tmp_path, demo_adata):
    out = cellucid.prepare(demo_adata, tmp_path / "exp", progress=False)
    (out / "stale.txt").write_text("old")
    with pytest.raises(InputError) as err:
        cellucid.prepare(demo_adata, out, progress=False)
    assert "already exists" in err.value.message and "force=True" in err.value.hint
    assert (out / "stale.txt").exists()
    cellucid.prepare(demo_adata, out, force=True, obs_keys=["batch"], progress=False)
    assert not (out / "stale.txt").exists()
    with open_source(out) as src:
        assert [f.name for f in src.fields()] == ["batch"]
    assert [p.name for p in tmp_path.iterdir()] == ["exp"]  # no temporary folders left


def test_output_that_contains_the_input_is_refused(tmp_path, demo_h5ad):
    with pytest.raises(InputError) as err:
        cellucid.prepare(demo_h5ad, tmp_path, force=True, progress=False)
    assert "would delete it" in err.value.message
    assert demo_h5ad.exists()


def test_failed_export_removes_its_temporary_folder(tmp_path, demo_adata):
    a = demo_adata.copy()
    a.var_names = ["same"] * a.n_vars
    with pytest.raises(InputError):
        cellucid.prepare(a, tmp_path / "exp", progress=False)
    assert list(tmp_path.iterdir()) == []
