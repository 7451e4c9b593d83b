"""Gene lookup by name or id, and prefix search."""

from __future__ import annotations

import pytest

from cellucid.data import open_source
from cellucid.data.base import NotFound
from cellucid.data.genes import count_gene_matches, lookup_for


@pytest.fixture
def src(make_adata):
    adata = make_adata(n_genes=40)
    names = list(adata.var_names)
    names[10], names[11], names[12] = "CD3D", "Cd3e", "CD34"  # case-insensitive twins
    adata.var_names = names
    with open_source(adata) as s:
        yield s


def test_exact_beats_case_insensitive(src):
    assert src.resolve_gene("CD3E") == 3
    assert src.resolve_gene("Cd3e") == 11
    assert src.resolve_gene("cd3e") == 3  # first case-insensitive match in var order
    assert src.resolve_gene("ENSG00000000012") == 12
    assert src.resolve_gene("ensg00000000012") == 12


def test_id_column_only_searches_that_column(src):
    assert src.resolve_gene("ENSG00000000007", "gene_ids") == 7
    with pytest.raises(NotFound):
        src.resolve_gene("LYZ", "gene_ids")
    with pytest.raises(NotFound) as err:
        src.resolve_gene("LYZ", "symbols")
    assert "gene_ids" in err.value.hint


def test_unknown_gene_suggests_names(src):
    with pytest.raises(NotFound) as err:
        src.resolve_gene("CD3X")
    assert "unknown gene 'CD3X'" in err.value.message
    assert "CD3E" in err.value.hint


def test_search_exact_first_then_prefix_alphabetical(src):
    hits = src.search_genes("cd3e")
    assert [h.name for h in hits] == ["CD3E", "Cd3e"]
    hits = src.search_genes("CD3")
    assert [h.name for h in hits] == ["CD34", "CD3D", "CD3E", "Cd3e"]
    assert hits[0].gene_id == "ENSG00000000012"
    assert [h.name for h in src.search_genes("cd3d")] == ["CD3D"]
    assert count_gene_matches(src, "g") == 35  # 40 genes minus CD3E, LYZ and the three CD3*


def test_search_ids_and_limits(src):
    hits = src.search_genes("ENSG0000000001")
    assert [h.index for h in hits] == list(range(10, 20))
    assert len(src.search_genes("g", limit=5)) == 5
    assert src.search_genes("") == [] and src.search_genes("zzz") == []


def test_lookup_is_built_once(src):
    assert lookup_for(src) is lookup_for(src)
