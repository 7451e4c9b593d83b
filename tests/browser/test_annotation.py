"""Two annotators in two browser contexts label and vote on the same clusters of one served
dataset; the consensus field the viewer colours by matches the rule computed in Python, and
the data file is never written. Saves docs/images/annotation-panel.png."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from browser_page import open_viewer, save_doc_image
from cellucid.anndata_server import AnnDataServer
from cellucid.annotation import AnnotationFolder, consensus

pytestmark = pytest.mark.browser


def set_name(v, name):
    v.page.fill("[data-testid=annotation-name]", name)
    v.page.click("[data-testid=annotation-name-set]")
    v.page.wait_for_selector(f"[data-testid=annotation-me]:text-is('{name}')")
    v.page.select_option("[data-testid=annotation-field]", "leiden")


def propose(v, category, label, note="", confidence=""):
    page = v.page
    page.select_option("[data-testid=annotation-field]", "leiden")
    page.select_option("[data-testid=annotation-category]", category)
    page.fill("[data-testid=annotation-label]", label)
    page.fill("[data-testid=annotation-note]", note)
    page.fill("[data-testid=annotation-confidence]", confidence)
    page.click("[data-testid=annotation-propose]")
    row(v, category, label).wait_for()


def row(v, category, label=None):
    sel = f"[data-testid=annotation-row][data-category='{category}']"
    if label is not None:
        sel += f" [data-testid=annotation-proposal][data-label='{label}']"
    return v.page.locator(sel)


def viewer_labels(v):
    """The consensus column the viewer coloured by: a label (or None) per cell."""
    col = v.js("""() => { const c = window.cellucid.app.colorColumn;
        return {name: c.name, codes: Array.from(c.codes), missing: c.missing, categories: c.categories}; }""")
    assert col["name"] == "annotation"
    return [col["categories"][c] if c != col["missing"] else None for c in col["codes"]]


def python_labels(folder, adata):
    s = consensus(folder, adata)
    return s.astype(object).where(s.notna(), None).tolist()


def test_two_annotators_vote_and_the_consensus_matches_python(browser, demo, tmp_path):
    folder = AnnotationFolder(tmp_path / "labels", create=True, author="Ana")
    remote = tmp_path / "remote.git"  # the folder is a git clone, so the panel's sync button can push
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(folder.path)], check=True)
    subprocess.run(["git", "-C", str(folder.path), "remote", "add", "origin", str(remote)], check=True)
    before = (open(demo.path, "rb").read(), os.stat(demo.path).st_mtime_ns)
    with AnnDataServer(demo.path, port=0, quiet=True, annotations=folder.path) as srv:
        ana = open_viewer(browser, srv.url, viewport={"width": 1200, "height": 760})
        bo = open_viewer(browser, srv.url)  # a second browser context: its own storage, its own name
        try:
            set_name(ana, "Ana")
            set_name(bo, "Bo")
            propose(ana, "0", "T cell", note="CD3E high", confidence="0.9")
            propose(ana, "1", "B cell")
            propose(ana, "2", "Monocyte")

            bo.page.click("[aria-label='refresh annotations']")
            row(bo, "0", "T cell").locator("[data-testid=annotation-vote]").click()
            agreed = row(bo, "0", "T cell")
            agreed.locator("[data-testid=annotation-count]:text-is('×2')").wait_for()
            voters = agreed.locator("[data-testid=annotation-voters]")
            assert voters.inner_text() == "Ana, Bo"
            assert voters.get_attribute("title") == "Ana (0.9): CD3E high\nBo"
            propose(bo, "1", "NK")  # one vote each: disputed
            bo.js("window.cellucid.select(Array.from({length: 40}, (_, i) => i * 7))")
            bo.page.fill("[data-testid=annotation-label]", "Doublet")
            bo.page.click("[data-testid=annotation-label-selection]")
            bo.page.locator("[data-testid=annotation-sets] [data-testid=annotation-row]").wait_for()

            ana.page.click("[aria-label='refresh annotations']")
            row(ana, "1", "NK").wait_for()
            assert row(ana, "1").locator("[data-testid=annotation-state]").inner_text() == "disputed"
            assert row(ana, "0").locator("[data-testid=annotation-state]").inner_text() == "agreed"
            assert row(ana, "0").locator("[data-testid=annotation-consensus]").inner_text() == "T cell"
            assert "disputed" in row(bo, "1").locator("[data-testid=annotation-state]").inner_text()

            ana.page.click("[data-testid=annotation-color-by]")
            ana.page.wait_for_function("window.cellucid.state().colored_by === 'annotation'")
            got = viewer_labels(ana)
            assert got == python_labels(folder, demo.adata)
            assert {"T cell", "Monocyte", "disputed", "Doublet"} == set(filter(None, got))
            leiden = demo.adata.obs["leiden"].astype(str).to_numpy()
            assert {got[i] for i in np.flatnonzero(leiden == "1") if i % 7 or i >= 280} == {"disputed"}

            # Only the author has lock buttons; locking settles the disputed cluster everywhere.
            assert bo.page.locator("[data-testid=annotation-lock]").count() == 0
            row(ana, "1", "B cell").locator("[data-testid=annotation-lock]").click()
            row(ana, "1").locator("[data-testid=annotation-state]:text-is('locked')").wait_for()
            ana.page.wait_for_function("window.cellucid.app.colorColumn.categories.includes('B cell')")
            assert viewer_labels(ana) == python_labels(folder, demo.adata)
            assert "B cell" in set(viewer_labels(ana))
            ana.page.locator("[data-testid=annotation-targets]").scroll_into_view_if_needed()
            ana.page.mouse.move(5, 5)
            ana.frame()
            save_doc_image(ana.page.screenshot(), "annotation-panel.png")

            bo.page.click("[data-testid=annotation-sync]")
            bo.page.wait_for_selector("[data-testid=annotation-status]:has-text('pushed')")
            pushed = subprocess.run(["git", "--git-dir", str(remote), "ls-tree", "-r", "--name-only", "main"],
                                    capture_output=True, text=True, check=True).stdout.split()
            assert "project.json" in pushed and len([p for p in pushed if p.startswith("annotators/")]) == 2
            assert not [e for e in ana.errors + bo.errors if "favicon" not in e]
        finally:
            ana.page.close()
            bo.page.close()
    assert (open(demo.path, "rb").read(), os.stat(demo.path).st_mtime_ns) == before
    files = sorted(p.name for p in (folder.path / "annotators").iterdir())
    assert len(files) == 2 and files[0].startswith("ana-") and files[1].startswith("bo-")
