"""The test statistics, written to match ``scanpy.tl.rank_genes_groups`` formula for formula.

- t-test: Welch's (``scipy.stats.ttest_ind_from_stats`` with ``equal_var=False``) on means
  and ``ddof=1`` variances.
- Wilcoxon: the normal approximation of the rank-sum statistic,
  ``z = (R − n(N+1)/2) / sqrt(tc · n · m · (N+1) / 12)`` with ``tc`` the tie correction
  (1 without ``tie_correct``); two-sided ``p = 2 · Φ(−|z|)``.
- log fold change: ``log2((expm1(mean_group) + 1e-9) / (expm1(mean_ref) + 1e-9))``, with
  ``expm1(x · ln(base))`` when the data were ``log1p``-ed in another base.
- adjusted p: Benjamini–Hochberg.

Where scanpy writes score 0 and p = 1 for an undefined test (a gene constant over both
groups), these functions return NaN, so it is visible; the adjusted p treats NaN as 1 (as
scanpy does) and keeps NaN in the output.
"""

from __future__ import annotations

import numpy as np


def welch(mean1, var1, n1, mean2, var2, n2) -> tuple[np.ndarray, np.ndarray]:
    """Welch's t statistic and two-sided p per gene (NaN where undefined)."""
    from scipy import stats

    with np.errstate(invalid="ignore", divide="ignore"):
        t, p = stats.ttest_ind_from_stats(mean1, np.sqrt(var1), n1, mean2, np.sqrt(var2), n2, equal_var=False)
    t, p = np.asarray(t, dtype=np.float64), np.asarray(p, dtype=np.float64)
    p[np.isnan(t)] = np.nan
    return t, p


def wilcoxon_z(R: np.ndarray, n: float, N: int, ties: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Rank-sum z score and two-sided normal p for a group of ``n`` of ``N`` ranked cells.
    ``ties`` is ``Σ(t³ − t)`` per gene for the tie correction, or ``None`` for none."""
    from scipy import stats

    m = N - n
    tc = 1.0 if ties is None else 1.0 - ties / (float(N) ** 3 - N)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(tc * n * m * (N + 1) / 12.0)
        z = (R - n * (N + 1) / 2.0) / sd
    z = np.where(sd > 0, z, np.nan)
    p = 2.0 * stats.norm.sf(np.abs(z))
    return z, p


def log_fold_change(mean1: np.ndarray, mean2: np.ndarray, base: float | None = None) -> np.ndarray:
    """scanpy's ``logfoldchanges`` from the means of log1p data (natural log unless ``base``)."""
    if base is None:
        e1, e2 = np.expm1(mean1), np.expm1(mean2)
    else:
        f = np.log(base)
        e1, e2 = np.expm1(mean1 * f), np.expm1(mean2 * f)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log2((e1 + 1e-9) / (e2 + 1e-9))


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (``statsmodels`` ``fdr_bh``); NaN inputs count as 1 and stay NaN."""
    p = np.asarray(p, dtype=np.float64)
    q = np.where(np.isnan(p), 1.0, p)
    n = q.size
    if n == 0:
        return q
    order = np.argsort(q)
    ranked = q[order] * n / np.arange(1, n + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(ranked, 1.0)
    out[np.isnan(p)] = np.nan
    return out
