"""``prepare_zarr()`` / ``cellucid prepare IN OUT.zarr --format zarr``: an AnnData Zarr v3
store whose expression matrix is laid out for object storage.

X is written dense, **one chunk per gene** (``chunks=(n_cells, 1)``, zstd), with the chunks
of ``shard_genes`` neighbouring genes packed into one **shard** object
(``shards=(n_cells, shard_genes)``). A shard ends with an index of its chunks' byte offsets,
so one gene costs one range GET for that index (cached afterwards for the shard's other
genes) and one range GET for the gene's chunk — instead of scanning a cell-major matrix,
and without one tiny object per gene (object stores bill and throttle per request, and list
slowly with millions of keys). Zeros compress to almost nothing, and a gene without any
value is not stored at all.

Everything else — obs, var, obsm, obsp, uns — is written by anndata itself (Zarr v3,
consolidated metadata, so a reader that cannot list, e.g. a static HTTP server, finds every
element), so ``anndata.read_zarr(OUT)`` reads the result and ``cellucid serve OUT`` serves
it from a local path as well as from ``s3://`` / ``https://`` after upload. The chosen
``expression`` matrix (``X``, ``raw`` or ``layer:NAME``) becomes X; other layers and raw are
left out.

Memory: a sparse input is turned gene-major in memory, about 20 bytes per stored value at
peak (1M cells × 2,000 genes at 2 % density: ~0.8 GB); a dense input is read
``shard_genes`` columns at a time.

The input is opened read-only; the output is built in a temporary sibling folder and
renamed into place at the end, so an interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from cellucid.data.base import InputError
from cellucid.data.matrix_choice import Expression
from cellucid.export._folder import check_target, staged_folder

ROW_BLOCK = 200_000  # cells read per step from a cell-major (CSR) input


def default_shard_genes(n_cells: int) -> int:
    """Genes per shard: about 64 MB of uncompressed values per shard (1..256 genes)."""
    return int(max(1, min(256, (64 * 2**20) // max(1, 4 * n_cells))))


def _open_input(path: Path) -> Any:
    if path.suffix.lower() == ".h5ad":
        from cellucid.data.store_source import open_hdf5

        return open_hdf5(path)
    if path.is_dir():
        import zarr

        try:
            return zarr.open_group(str(path), mode="r")
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"cannot open {path} as a zarr store ({type(exc).__name__}: {exc})",
                             hint="a .zarr AnnData store is written by anndata's write_zarr") from None
    raise InputError(f"{path}: --format zarr reads a .h5ad file or a .zarr store",
                     hint="convert other formats to AnnData first (anndata / scanpy / mudata)")


def _matrix_and_var(root: Any, expression: Expression) -> tuple[Any, Any]:
    if expression.kind == "raw":
        if "raw" not in root or "X" not in root["raw"]:
            raise InputError("expression='raw' but the input has no raw", hint="use X or layer:NAME")
        return root["raw"]["X"], root["raw"]["var"]
    if expression.kind == "layer":
        layers = root["layers"] if "layers" in root else {}
        if expression.layer not in layers:
            names = ", ".join(sorted(layers.keys())) or "(none)"
            raise InputError(f"no layer {expression.layer!r} in the input", hint=f"layers: {names}")
        return layers[expression.layer], root["var"]
    if "X" not in root:
        raise InputError("the input has no X", hint="choose a layer with --expression layer:NAME")
    return root["X"], root["var"]


def _gene_major(matrix: Any, n_obs: int, n_vars: int) -> Callable[[int, int], np.ndarray]:
    """A function (g0, g1) → dense float32 (n_obs, g1 - g0) of those genes."""
    from anndata.io import sparse_dataset

    if not hasattr(matrix, "shape") or hasattr(matrix, "keys"):  # a sparse group
        ds = sparse_dataset(matrix)
        if ds.format == "csc":
            return lambda g0, g1: ds[:, g0:g1].toarray().astype(np.float32, copy=False)
        import scipy.sparse as sp

        blocks = [ds[a:min(a + ROW_BLOCK, n_obs)] for a in range(0, n_obs, ROW_BLOCK)]
        csc = (sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((n_obs, n_vars))).tocsc()
        del blocks
        return lambda g0, g1: csc[:, g0:g1].toarray().astype(np.float32, copy=False)
    return lambda g0, g1: np.asarray(matrix[:, g0:g1], dtype=np.float32)


def _write_annotations(root: Any, var_node: Any, out: Path) -> None:
    """obs, var, obsm, obsp, uns through anndata (Zarr v3), without X."""
    import anndata as ad
    from anndata.io import read_elem

    parts = {"obs": read_elem(root["obs"]), "var": read_elem(var_node)}
    for name in ("obsm", "obsp", "uns"):
        if name in root:
            parts[name] = read_elem(root[name])
    adata = ad.AnnData(**parts)
    with ad.settings.override(zarr_write_format=3), warnings.catch_warnings():
        # zarr announces future defaults (autosharding, consolidated metadata in v3): not for users
        warnings.simplefilter("ignore", UserWarning)
        adata.write_zarr(out)


def prepare_zarr(input_path: str | os.PathLike, out: str | os.PathLike, expression: str = "X",
                 force: bool = False, shard_genes: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> Path:
    """Write ``input_path`` (``.h5ad`` or ``.zarr``) as a gene-chunked, sharded Zarr v3 AnnData store.

    ``expression`` picks the matrix that becomes X (``"X"``, ``"raw"``, ``"layer:NAME"``);
    ``shard_genes`` the genes per shard (default: ~64 MB of values per shard);
    ``progress(done, total)`` is called after each shard. Refuses an existing ``out``
    without ``force`` and an ``out`` inside the input. Returns the output path.

    Example::

        from cellucid.export.zarr_store import prepare_zarr
        prepare_zarr("data.h5ad", "data.zarr")   # then: cellucid serve data.zarr
    """
    import zarr
    from zarr.codecs import ZstdCodec

    src, target = Path(input_path).expanduser(), Path(out).expanduser().resolve()
    if not src.exists():
        raise InputError(f"input {src} does not exist", hint="pass a .h5ad file or a .zarr store")
    check_target(target, force, [src])
    choice = Expression.parse(expression)
    root = _open_input(src)
    try:
        matrix, var_node = _matrix_and_var(root, choice)
        n_obs, n_vars = (int(v) for v in (matrix.attrs["shape"] if hasattr(matrix, "keys") else matrix.shape))
        per_shard = int(shard_genes or default_shard_genes(n_obs))
        with staged_folder(target) as tmp:
            _write_annotations(root, var_node, tmp)
            genes = _gene_major(matrix, n_obs, n_vars)
            group = zarr.open_group(str(tmp), mode="r+")
            x = group.create_array("X", shape=(n_obs, n_vars), dtype="float32", chunks=(n_obs, 1),
                                   shards=(n_obs, per_shard), compressors=ZstdCodec(level=3), fill_value=0.0)
            x.attrs.update({"encoding-type": "array", "encoding-version": "0.2.0"})
            for g0 in range(0, n_vars, per_shard):
                g1 = min(n_vars, g0 + per_shard)
                x[:, g0:g1] = genes(g0, g1)
                if progress is not None:
                    progress(g1, n_vars)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                zarr.consolidate_metadata(str(tmp))
    finally:
        close = getattr(root, "close", None)
        if close is not None:
            close()
    return target
