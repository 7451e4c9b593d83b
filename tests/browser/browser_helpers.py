"""Python-side truth for the browser tests: projections and pixel helpers computed without the viewer."""

from __future__ import annotations

import numpy as np

N_CELLS = 3000


def default_projection_2d(coords: np.ndarray, width: float, height: float) -> np.ndarray:
    """Screen positions (CSS px, canvas-relative) of the documented default 2D view, computed
    from the raw embedding without the viewer: the bounding box is centered and its longest
    side spans 90% of the shorter canvas side; y points up (docs/viewer.md)."""
    lo, hi = np.nanmin(coords, axis=0), np.nanmax(coords, axis=0)
    center = (lo + hi) / 2
    longest = float(np.max(hi - lo))
    ppu = 0.9 * min(width, height) / 2
    world = (coords - center) * 2 / longest
    return np.stack([width / 2 + world[:, 0] * ppu, height / 2 - world[:, 1] * ppu], axis=1)


def hex_rgb(color: str) -> np.ndarray:
    color = color.lstrip("#")
    return np.array([int(color[i : i + 2], 16) for i in (0, 2, 4)])


def isolated(xy: np.ndarray, labels: np.ndarray, radius: float) -> np.ndarray:
    """Cells with no cell of another label within ``radius`` px (their pixel is unambiguous)."""
    from scipy.spatial import cKDTree

    tree = cKDTree(xy)
    ok = np.ones(len(xy), bool)
    for i, nbrs in enumerate(tree.query_ball_point(xy, radius)):
        ok[i] = all(labels[j] == labels[i] for j in nbrs)
    return ok
