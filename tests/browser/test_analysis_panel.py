"""The viewer's Analysis panel end to end in Chromium against a real server on a demo .h5ad:
every number it shows is checked against the Python API, pandas or scipy on the same file.
Saves the screenshots of docs/analysis.md ("Analysis panel")."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import cellucid
from browser_page import save_doc_image

pytestmark = pytest.mark.browser


def changed_pixels(a, b) -> int:
    return int((np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 30).sum())


def open_panel(v, tab):
    v.page.click("[data-testid=analysis-open]")
    v.page.click(f"[data-testid=analysis-tab-{tab}]")


def run_de(v, cells, method="t-test"):
    v.js("c => window.cellucid.select(c)", [int(c) for c in cells])
    v.page.select_option("[data-testid=de-group]", "selection")
    v.page.select_option("[data-testid=de-method]", method)
    v.page.click("[data-testid=de-run]")
    v.page.wait_for_selector("[data-testid=de-status][data-state=done]")


def group_cells(demo, name):
    return np.flatnonzero(demo.adata.obs["cell_type"].to_numpy() == name)


def score_signature(v, genes: str, method: str | None = None):
    """Paste ``genes`` in the open Signature tab, score them and wait for the cells to take the colour."""
    v.page.fill("[data-testid=sig-genes]", genes)
    if method:
        v.page.select_option("[data-testid=sig-method]", method)
    v.page.click("[data-testid=sig-run]")
    v.page.wait_for_function("window.cellucid.state().color_by_kind === 'signature' && window.cellucid.state().colored_by")


def rows_shown(v):
    return v.js("""() => [...document.querySelectorAll('[data-testid=de-row]')]
        .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
        .map(r => [r.dataset.name, r.dataset.score])""")


def test_de_table_equals_rank_genes_and_sorts(viewer, demo):
    v = viewer
    cells = group_cells(demo, "B cell")
    open_panel(v, "de")
    run_de(v, cells, "wilcoxon")
    want = cellucid.rank_genes(demo.path, cells, method="wilcoxon")
    # every column the panel holds equals the Python answer for the same cells
    got = pd.DataFrame(v.js("window.cellucid.analysis.store.get().de.result.columns"))
    assert got["names"].tolist() == want["names"].tolist()
    for c in ("scores", "logfoldchanges", "pvals", "pvals_adj", "pct_nz_group"):
        np.testing.assert_array_equal(got[c].astype(float).to_numpy(), want[c].to_numpy())
    # the rows on screen: the top genes with their scores, in order; only a window of rows in the DOM
    shown = rows_shown(v)
    assert [n for n, _ in shown[:15]] == want["names"].tolist()[:15]
    np.testing.assert_array_equal([float(s) for _, s in shown[:15]], want["scores"].to_numpy()[:15])
    assert len(shown) < 40 < len(want)
    assert v.page.get_attribute("[data-testid=de-count]", "data-count") == str(len(want))
    # sorting by log2 fold change, then ascending
    v.page.click("[data-testid=de-sort-logfoldchanges]")
    by_lfc = want.sort_values("logfoldchanges", ascending=False, kind="stable")
    assert [n for n, _ in rows_shown(v)[:10]] == by_lfc["names"].tolist()[:10]
    v.page.click("[data-testid=de-sort-logfoldchanges]")
    assert rows_shown(v)[0][0] == want.sort_values("logfoldchanges", kind="stable")["names"].iloc[0]
    # scrolling to the end shows the last genes
    last = want.sort_values("logfoldchanges", ascending=False, kind="stable")["names"].iloc[0]
    assert last not in [n for n, _ in rows_shown(v)]
    v.js("document.querySelector('[data-testid=de-table]').scrollTop = 1e9")
    # the rows are painted on the scroll event, which comes after the scroll itself
    v.page.wait_for_selector(f"[data-testid=de-row][data-name='{last}']")
    assert rows_shown(v)[-1][0] == last
    assert v.errors == []


def test_de_between_two_highlight_groups(viewer, demo):
    v = viewer
    a, b = group_cells(demo, "T cell"), group_cells(demo, "NK cell")
    v.js("([a, b]) => { window.cellucid.highlight(a, '#ff0000', 'tcells'); window.cellucid.highlight(b, '#0000ff', 'nk'); }", [a.tolist(), b.tolist()])
    open_panel(v, "de")
    ids = v.js("Object.fromEntries(window.cellucid.app.store.get().highlightGroups.map(g => [g.name, String(g.id)]))")
    v.page.select_option("[data-testid=de-group]", ids["tcells"])
    v.page.select_option("[data-testid=de-reference]", ids["nk"])
    v.page.click("[data-testid=de-run]")
    v.page.wait_for_selector("[data-testid=de-status][data-state=done]")
    assert v.page.inner_text("[data-testid=de-title]") == "tcells vs nk (t-test)"
    want = cellucid.rank_genes(demo.path, a, reference=b)
    got = v.js("window.cellucid.analysis.store.get().de.result.columns")
    assert got["names"] == want["names"].tolist()
    np.testing.assert_array_equal(np.array(got["scores"], dtype=float), want["scores"].to_numpy())
    # the same group on both sides: the server's error and hint, in the panel
    v.page.select_option("[data-testid=de-reference]", ids["tcells"])
    v.page.click("[data-testid=de-run]")
    v.page.wait_for_selector("[data-testid=de-status][data-state=error]")
    text = v.page.inner_text("[data-testid=de-status]")
    assert "the group and the reference are the same cells" in text and "reference='rest'" in text


def test_filters_and_csv_equal_the_filtered_dataframe(viewer, demo):
    v = viewer
    cells = group_cells(demo, "T cell")
    open_panel(v, "de")
    run_de(v, cells)
    want = cellucid.rank_genes(demo.path, cells)
    v.page.fill("[data-testid=de-padj]", "1e-20")
    v.page.fill("[data-testid=de-lfc]", "2")
    keep = want[(want["pvals_adj"] <= 1e-20) & (want["logfoldchanges"].abs() >= 2)]
    assert 0 < len(keep) < len(want)
    v.page.wait_for_function(f"document.querySelector('[data-testid=de-count]').dataset.count === '{len(keep)}'")
    assert v.page.get_attribute("[data-testid=de-volcano]", "data-passing") == str(len(keep))
    with v.page.expect_download() as dl:
        v.page.click("[data-testid=de-csv]")
    csv = pd.read_csv(io.BytesIO(open(dl.value.path(), "rb").read()), float_precision="round_trip")
    assert dl.value.suggested_filename.endswith(".csv")
    assert list(csv.columns) == list(want.columns)
    assert csv["names"].tolist() == keep["names"].tolist()
    for c in want.columns[1:]:
        np.testing.assert_array_equal(csv[c].to_numpy(), keep[c].to_numpy())


def test_clicking_a_gene_colours_the_cells_by_it(viewer, demo):
    v = viewer
    open_panel(v, "de")
    run_de(v, group_cells(demo, "NK cell"))
    before = v.pixels()
    top = rows_shown(v)[0][0]
    v.page.click(f"[data-testid=de-row][data-name='{top}']")
    v.page.wait_for_function(f"window.cellucid.state().colored_by === '{top}'")
    assert v.state()["color_by_kind"] == "gene"
    assert changed_pixels(before, v.pixels()) > 1000
    # from the keyboard: the second row, Enter
    second = rows_shown(v)[1][0]
    v.page.focus(f"[data-testid=de-row][data-name='{second}']")
    v.page.keyboard.press("Enter")
    v.page.wait_for_function(f"window.cellucid.state().colored_by === '{second}'")


def test_marker_dot_plot_has_a_row_per_category_and_the_python_top_genes(viewer, demo):
    v = viewer
    open_panel(v, "markers")
    v.page.select_option("[data-testid=markers-field]", "cell_type")
    v.page.fill("[data-testid=markers-n]", "3")
    v.page.click("[data-testid=markers-run]")
    v.page.wait_for_selector("[data-testid=markers-status][data-state=done]")
    cats = list(demo.adata.obs["cell_type"].cat.categories)
    assert v.page.locator("[data-testid=dot-row]").count() == len(cats)
    assert v.js("[...document.querySelectorAll('[data-testid=dot-row]')].map(r => r.dataset.group)") == cats
    want = cellucid.markers(demo.path, "cell_type", n_genes=3)
    got = v.js("Object.fromEntries([...document.querySelectorAll('[data-testid=marker-group]')].map(g => [g.dataset.group, g.dataset.genes.split(',')]))")
    assert got == {g: d["names"].tolist() for g, d in want.groupby("group", sort=False)}
    genes = list(dict.fromkeys(want["names"]))
    assert v.page.locator("[data-testid=dot-row] >> nth=0").locator("circle").count() == len(genes)
    first = want["names"].iloc[0]
    assert v.page.inner_text("[data-testid=marker-group] >> nth=0").startswith(f"{want['group'].iloc[0]}: {first}, ")
    v.page.click(f"[data-testid=marker-group] >> nth=0 >> a[data-gene='{first}']")
    v.page.wait_for_function(f"window.cellucid.state().colored_by === '{first}'")


def test_signature_colours_the_cells_and_lists_unknown_genes(viewer, demo):
    v = viewer
    open_panel(v, "signature")
    before = v.pixels()
    score_signature(v, "CD3E, NKG7\nNOT_A_GENE")
    assert v.page.get_attribute("[data-testid=sig-unknown]", "data-genes") == "NOT_A_GENE"
    assert "NOT_A_GENE" in v.page.inner_text("[data-testid=sig-unknown]")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want = cellucid.signature_score(demo.path, ["CD3E", "NKG7"]).to_numpy()
    got = np.array(v.js("Array.from(window.cellucid.app.colorColumn.values)"), dtype=np.float32)
    np.testing.assert_array_equal(got, want)
    assert changed_pixels(before, v.pixels()) > 1000


def test_a_session_coloured_by_a_signature_scores_it_again_after_a_reload(viewer, demo):
    v = viewer
    open_panel(v, "signature")
    score_signature(v, "CD3E, NKG7", "zscore")
    vid = v.js("window.cellucid.snapshot()")  # a snapshot of the signature colouring, kept too
    session = v.js("window.cellucid.session()")
    assert session["color_by"]["genes"] == ["CD3E", "NKG7"] and session["color_by"]["method"] == "zscore"
    saved_view = next(x for x in session["views"] if x["id"] == vid)
    assert saved_view["color_by_genes"] == ["CD3E", "NKG7"] and saved_view["color_by_method"] == "zscore"
    v.page.reload()  # a fresh page: nothing of the signature is cached, the address has no gene list
    v.page.wait_for_selector("body[data-ready='1']", timeout=30000)
    assert v.state()["color_by_kind"] == "field"
    v.js("async (o) => { await window.cellucid.restoreSession(o); }", session)
    v.page.wait_for_function("(name) => window.cellucid.state().colored_by === name", arg=session["color_by"]["name"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want = cellucid.signature_score(demo.path, ["CD3E", "NKG7"], method="zscore").to_numpy()
    got = np.array(v.js("Array.from(window.cellucid.app.colorColumn.values)"), dtype=np.float32)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    snap = "(id) => { const e = window.cellucid.app.viewManager.entry(id); return e && e.view.colorColumn; }"
    v.page.wait_for_function(snap, arg=vid)
    got_view = np.array(v.js(f"(id) => Array.from(({snap})(id).values)", vid), dtype=np.float32)
    np.testing.assert_allclose(got_view, want, rtol=1e-5, atol=1e-6)
    assert v.errors == []


def test_correlation_matches_scipy_and_draws_the_scatter(viewer, demo):
    v = viewer
    open_panel(v, "correlation")
    # the stored float32 values, compared in float64 (as the server computes)
    x = np.asarray(demo.adata[:, "CD3E"].X.todense()).ravel().astype(np.float64)
    y = demo.adata.obs["pseudotime"].to_numpy().astype(np.float64)
    for method, fn in (("pearson", stats.pearsonr), ("spearman", stats.spearmanr)):
        v.page.fill("[data-testid=corr-x]", "CD3E")
        v.page.fill("[data-testid=corr-y]", "pseudotime")
        v.page.select_option("[data-testid=corr-method]", method)
        v.page.click("[data-testid=corr-run]")
        v.page.wait_for_selector("[data-testid=correlation-status][data-state=done]")
        r, p = fn(x, y)
        assert float(v.page.get_attribute("[data-testid=corr-stats]", "data-r")) == pytest.approx(r, rel=1e-9)
        assert float(v.page.get_attribute("[data-testid=corr-stats]", "data-p")) == pytest.approx(p, rel=1e-6)
    assert v.page.get_attribute("[data-testid=corr-scatter]", "data-points") == str(demo.adata.n_obs)


@pytest.mark.parametrize("value", ["MS4A1", "n_counts"])
def test_violin_gives_the_median_of_each_category(viewer, demo, value):
    v = viewer
    open_panel(v, "violin")
    v.page.fill("[data-testid=violin-value]", value)
    v.page.select_option("[data-testid=violin-field]", "cell_type")
    v.page.click("[data-testid=violin-run]")
    v.page.wait_for_selector("[data-testid=violin-status][data-state=done]")
    rows = v.js("[...document.querySelectorAll('[data-testid=violin-row]')].map(r => [r.dataset.group, +r.dataset.n, +r.dataset.median])")
    col = demo.adata.obs[value].to_numpy() if value in demo.adata.obs else np.asarray(demo.adata[:, value].X.todense()).ravel()
    x = pd.Series(col.astype(np.float64))
    want = x.groupby(demo.adata.obs["cell_type"].to_numpy()).agg(["size", "median"])
    cats = list(demo.adata.obs["cell_type"].cat.categories)
    assert [g for g, _, _ in rows] == cats
    for g, n, med in rows:
        assert n == want.loc[g, "size"] and med == pytest.approx(want.loc[g, "median"], rel=1e-6, abs=1e-7)


def test_a_superseded_request_is_never_shown(viewer, demo):
    """The first DE answer is held back (page.route) until the second one is on screen; when
    it is let through it must not replace the second."""
    v = viewer
    held = []

    def hold_first(route):
        if not held:
            held.append(route)  # answered later, after the newer request's answer
        else:
            route.continue_()

    v.page.route("**/_cellucid/api/analysis/rank_genes", hold_first)
    open_panel(v, "de")
    first, second = group_cells(demo, "Monocyte"), group_cells(demo, "B cell")
    v.js("c => window.cellucid.select(c)", first.tolist())
    v.page.click("[data-testid=de-run]")
    v.page.wait_for_function("() => document.querySelector('[data-testid=de-status]').dataset.state === 'running'")
    # progress is shown while it runs: the stage and a ticking time
    v.page.wait_for_function("/\\d+\\.\\d s/.test(document.querySelector('[data-testid=de-status]').textContent)")
    v.js("c => window.cellucid.select(c)", second.tolist())
    v.page.click("[data-testid=de-run]")
    v.page.wait_for_selector("[data-testid=de-status][data-state=done]")
    want = cellucid.rank_genes(demo.path, second)["names"].tolist()[:5]
    assert [n for n, _ in rows_shown(v)[:5]] == want
    try:
        held[0].continue_()
    except Exception:  # noqa: BLE001 - the viewer aborted it: fine, it must not show either way
        pass
    # give a late answer every chance to land: network idle, then two frames
    v.page.wait_for_load_state("networkidle")
    v.frame()
    v.frame()
    assert [n for n, _ in rows_shown(v)[:5]] == want
    assert v.js("window.cellucid.analysis.store.get().de.result.columns.names.slice(0, 5)") == want


def run_tab(v, tab, fills, run, kind):
    """Open `tab`, fill its inputs ({testid: text}), press its `run` button, wait until done."""
    v.page.click(f"[data-testid=analysis-tab-{tab}]")
    for testid, text in fills.items():
        v.page.fill(f"[data-testid={testid}]", text)
    v.page.click(f"[data-testid={run}]")
    if kind:
        v.page.wait_for_selector(f"[data-testid={kind}-status][data-state=done]")


def test_screenshots_for_the_docs(browser, server, demo):
    from browser_page import open_viewer

    v = open_viewer(browser, server.url, viewport={"width": 1200, "height": 760})

    def save(name):
        v.frame()
        save_doc_image(v.page.screenshot(), name)

    try:
        open_panel(v, "de")
        run_de(v, group_cells(demo, "B cell"))
        v.page.fill("[data-testid=de-padj]", "1e-20")
        v.page.fill("[data-testid=de-lfc]", "2")
        top = rows_shown(v)[0][0]
        v.page.click(f"[data-testid=de-row][data-name='{top}']")
        v.page.wait_for_function(f"window.cellucid.state().colored_by === '{top}'")
        v.js("window.cellucid.clearSelection()")  # the gene's colours undimmed; the table stays
        save("analysis-de.png")
        run_tab(v, "markers", {}, "markers-run", "markers")
        save("analysis-markers.png")
        run_tab(v, "violin", {"violin-value": "n_counts"}, "violin-run", "violin")
        save("analysis-violin.png")
        run_tab(v, "signature", {"sig-genes": "MS4A1, JCHAIN, CD79A"}, "sig-run", None)
        v.page.wait_for_function("window.cellucid.state().color_by_kind === 'signature' && window.cellucid.state().colored_by")
        run_tab(v, "correlation", {"corr-x": "MS4A1", "corr-y": "n_counts"}, "corr-run", "correlation")
        save("analysis-correlation.png")
        assert v.errors == []
    finally:
        v.page.close()
