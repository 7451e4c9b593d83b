"""``prepare()``: write an export folder that ``cellucid serve`` reads fastest.

The input is read through :func:`cellucid.data.open_source` (same discovery of embeddings,
fields, vectors and gene id columns as ``serve``), except the expression matrix, which is
streamed in row chunks straight from the AnnData / h5py / zarr object into a gene-major
store (see :mod:`cellucid.export._genes`). The layout is in :mod:`cellucid.data.export_layout`
and ``docs/export.md``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from cellucid._version import __version__
from cellucid.data.base import InputError
from cellucid.data import export_layout as layout
from cellucid.export._folder import check_target, staged_folder
from cellucid.export._identity import build_export_identity
from cellucid.export._inputs import bits, embeddings_from_source, is_array, locate_matrix, source_matrix
from cellucid.export._keywords import from_keywords
from cellucid.export._writer import write_all


def prepare(
    adata_or_path: Any = None,
    out_dir: str | os.PathLike | None = None,
    var_gene_id_column: str | None = None,
    obs_keys: Sequence[str] | None = None,
    embeddings: Sequence[str] | None = None,
    layer: str | None = None,
    quantize: int | None = None,
    compression: int | None = 6,
    force: bool = False,
    *,
    expression: str | None = None,
    latent_key: str | None = None,
    obs_quantize: int | None = None,
    dataset_name: str | None = None,
    dataset_description: str | None = None,
    backed: bool = True,
    progress: bool = True,
    embed: bool | Mapping[str, Any] = False,
    modality: str | None = None,
    # --- the original cellucid-python keyword form (kept so existing scripts work) ---
    latent_space: Any = None,
    obs: Any = None,
    var: Any = None,
    gene_expression: Any = None,
    X_umap_1d: Any = None,
    X_umap_2d: Any = None,
    X_umap_3d: Any = None,
    X_umap_4d: Any = None,
    vector_fields: Mapping[str, Any] | None = None,
    var_quantization: int | None = None,
    obs_continuous_quantization: int | None = None,
    dataset_id: str | None = None,
    source_name: str | None = None,
    source_url: str | None = None,
    source_citation: str | None = None,
    **ignored: Any,
) -> Path:
    """Write an export folder for ``adata_or_path`` into ``out_dir``; returns its path.

    Parameters
    ----------
    adata_or_path
        An ``AnnData``, or a path to ``.h5ad`` / ``.zarr`` (or another export folder).
        Omit it and pass the original cellucid keywords instead (``obs=``, ``var=``,
        ``gene_expression=``, ``X_umap_2d=`` / ``X_umap_3d=``, ``latent_space=``,
        ``vector_fields=``): existing ``prepare`` scripts keep working.
    out_dir
        The folder to create. An existing folder is refused unless ``force=True``; then it
        is replaced whole (never mixed with stale files).
    var_gene_id_column
        A ``var`` column searchable as an alternative gene id (``"index"`` = var names).
    obs_keys
        Only these obs columns, in this order (default: all).
    embeddings
        Only these ``obsm`` embedding keys, in this order (default: all found).
    layer, expression
        Which matrix genes come from: ``layer="counts"`` or ``expression="X" | "raw" |
        "layer:NAME"`` (default ``X``).
    quantize
        ``None`` (float32, exact), ``16`` or ``8``: per-gene min/max quantization of the
        stored (non-zero) values; zeros stay exact. Error bound
        ``(max - min) / (2 * 65534)`` (16) or ``/ (2 * 254)`` (8) per gene.
    obs_quantize
        The same for continuous obs fields (default exact float32).
    compression
        gzip level (1-9) for per-cell files (embeddings, obs, vectors, latent); ``None`` or
        ``0`` for plain files. The gene store is never gzipped: it is read gene by gene.
    force
        Replace an existing ``out_dir``.
    progress
        Show tqdm progress bars on long steps.
    embed
        ``True`` (or a dict of parameters: ``seed``, ``n_top_genes``, ``n_pcs``,
        ``n_neighbors``, ``resolution``, ``target_sum``) computes a UMAP in 2D and 3D and a
        Leiden clustering first (:mod:`cellucid.data.embed`; needs ``cellucid[embed]``), for
        data without an embedding such as a Cell Ranger matrix. The input is read into
        memory and never modified; the parameters are recorded in the identity's
        ``export_settings["embed"]``.
    modality
        For a MuData input, the modality genes come from (default: the first with a matrix).

    Other original keywords (``connectivities``, ``centroid_outlier_quantile``, …) are
    accepted and ignored.
    """
    from tqdm.auto import tqdm

    if out_dir is None:
        raise InputError("prepare() needs an output folder.", "Call prepare(adata, 'path/to/export_dir').")
    if not isinstance(out_dir, (str, os.PathLike)):
        raise InputError(
            f"out_dir must be a folder path, got {type(out_dir).__name__}.",
            "Call prepare(adata, 'export_dir'), or the original form with keywords: "
            "prepare(obs=..., var=..., gene_expression=..., X_umap_2d=..., out_dir='export_dir').",
        )
    target = Path(out_dir).expanduser().absolute()
    if var_gene_id_column == "index":
        var_gene_id_column = None
    quantize = bits(quantize if quantize is not None else var_quantization, "quantize")
    obs_quantize = bits(obs_quantize if obs_quantize is not None else obs_continuous_quantization, "obs_quantize")
    compression = int(compression or 0)
    if not 0 <= compression <= 9:
        raise InputError(f"compression must be 0-9 or None, got {compression}.", "Use 6 (default) or None.")
    if layer is not None and expression is not None:
        raise InputError("Pass either layer= or expression=, not both.", "layer='counts' is expression='layer:counts'.")
    expression = f"layer:{layer}" if layer is not None else (expression or "X")

    # An array as first argument is the original signature's positional latent_space.
    if adata_or_path is not None and is_array(adata_or_path):
        latent_space, adata_or_path = adata_or_path, None
    keyword_form = adata_or_path is None
    inputs = [] if keyword_form or not isinstance(adata_or_path, (str, os.PathLike)) else [Path(adata_or_path)]
    check_target(target, force, inputs)

    def bar(**kw):
        return tqdm(disable=not progress, leave=False, **kw)

    t0 = time.perf_counter()
    options = dict(
        backed=backed,
        gene_id_column=var_gene_id_column,
        expression=expression,
        obs_keys=list(obs_keys) if obs_keys is not None else None,
        latent_key=latent_key,
        dataset_name=dataset_name or (target.name if keyword_form else None),
    )
    if keyword_form:
        adata, emb_plan, vec_plan, latent = from_keywords(
            obs, var, gene_expression, latent_space, {1: X_umap_1d, 2: X_umap_2d, 3: X_umap_3d, 4: X_umap_4d}, vector_fields
        )
        data_in: Any = adata
    else:
        data_in = adata_or_path
    embed_record = None
    input_kind = None
    if embed:
        from cellucid.data.embed import compute_embedding, load_anndata, require_embed_packages

        require_embed_packages()  # before reading anything: the message is the install command
        if keyword_form:
            raise InputError("embed=True needs an input (a path or an AnnData)", "pass adata_or_path")
        if inputs:
            from cellucid.data import detect_kind

            input_kind = detect_kind(inputs[0])
            data_in = load_anndata(inputs[0], modality)
            if not options["dataset_name"]:
                name = inputs[0].name
                options["dataset_name"] = name[: -len("".join(inputs[0].suffixes))] if inputs[0].is_file() else name
        data_in, embed_record = compute_embedding(data_in, progress=progress, **(dict(embed) if isinstance(embed, Mapping) else {}))
        modality = None  # the modality was chosen while loading
    if modality is not None:
        options["modality"] = modality
    from cellucid.data import open_source

    source = open_source(data_in, **{k: v for k, v in options.items() if v is not None or k == "obs_keys"})
    try:
        if not keyword_form:
            emb_plan = embeddings_from_source(source, embeddings)
            vec_plan = None
            latent = None
        matrix, matrix_owner = source_matrix(source)
        if matrix is None and source.kind != "export":
            matrix, matrix_owner = locate_matrix(data_in, expression)
        try:
            with staged_folder(target) as tmp:
                manifest = write_all(
                    tmp, source, emb_plan, vec_plan, latent, matrix, quantize, obs_quantize,
                    compression, var_gene_id_column, bar,
                )
                settings = {
                    "format": layout.FORMAT,
                    "cellucid_version": __version__,
                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    # The file name only: an export folder is made to be shared, and the
                    # full path would tell whoever gets it about the author's machine.
                    "input": os.path.basename(os.fspath(adata_or_path).rstrip("/\\")) if inputs
                    else type(data_in).__name__,
                    "input_kind": input_kind or source.summary().kind,
                    "expression": expression,
                    "quantize": quantize,
                    "obs_quantize": obs_quantize,
                    "compression": compression or None,
                    "var_gene_id_column": var_gene_id_column,
                    "seconds": None,
                }
                if embed_record is not None:
                    settings["embed"] = embed_record
                identity = build_export_identity(source, manifest, settings, dataset_name, dataset_description, dataset_id,
                                     {"name": source_name, "url": source_url, "citation": source_citation})
                settings["seconds"] = round(time.perf_counter() - t0, 3)
                # Written last: its presence marks a complete export.
                with open(tmp / layout.IDENTITY_FILE, "w", encoding="utf-8") as fh:
                    json.dump(identity, fh, indent=1, allow_nan=False)
                    fh.flush()
                    os.fsync(fh.fileno())
        finally:
            if matrix_owner is not None:
                matrix_owner.close()
    finally:
        source.close()
    return target
