"""AnnData zarr stores in object storage: ``s3://``, ``gs://``, ``https://``, any fsspec URL.

``open_remote("s3://bucket/data.zarr", options)`` opens the store lazily through zarr's
:class:`~zarr.storage.FsspecStore` wrapped in :class:`~cellucid.data.remote_store.RemoteStore`
(cache, timeout, retries), and serves it with the same
:class:`~cellucid.data.store_source.StoreSource` as a local ``.zarr``: only the elements shown
are fetched — the metadata (one consolidated document when the store has one), the embedding,
the obs columns asked for, one gene column at a time.

Credentials are fsspec's: for S3 the usual AWS chain (``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY`` / ``AWS_PROFILE``, ``AWS_ENDPOINT_URL`` for S3-compatible servers,
instance roles), or ``storage_options`` (e.g. ``{"anon": True}``,
``{"key": ..., "secret": ..., "endpoint_url": ...}``) passed to the filesystem.

No gene-major index is built for a remote store (it would download the whole matrix); write
the gene-chunked layout with ``cellucid prepare IN OUT.zarr --format zarr`` so that one gene
costs one or two range requests.
"""

from __future__ import annotations

import re
from typing import Any

from cellucid.data.base import CellucidError, InputError, SourceOptions
from cellucid.data.store_source import StoreSource

_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]+)://")


def is_remote_url(data: Any) -> bool:
    """True for a ``scheme://...`` string other than ``file://`` (``s3://``, ``gs://``, ``https://``...)."""
    if not isinstance(data, str):
        return False
    m = _URL.match(data)
    return m is not None and m.group(1).lower() not in ("file", "local")


def _scheme(url: str) -> str:
    return _URL.match(url).group(1).lower()  # type: ignore[union-attr]


def describe_failure(url: str, exc: BaseException) -> InputError:
    """An :class:`InputError` for a store that could not be opened: what and what to do."""
    if isinstance(exc, CellucidError):
        return InputError(exc.message, hint=exc.hint)
    name = type(exc).__name__
    text = str(exc)[:300]
    scheme = _scheme(url)
    status = getattr(exc, "status", None)
    if "Credentials" in name or "credentials" in text.lower() and scheme in ("s3", "s3a"):
        return InputError(
            f"no credentials to read {url} ({name})",
            hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), pass "
            "storage_options={'key': ..., 'secret': ...} (CLI: --storage-option key=... --storage-option "
            "secret=...), or storage_options={'anon': True} (--storage-option anon=true) for a public bucket",
        )
    if isinstance(exc, PermissionError) or status in (401, 403) or "AccessDenied" in text or "Forbidden" in text:
        return InputError(
            f"access denied to {url} ({name}: {text})",
            hint="these credentials may not read this bucket/key: check the bucket policy or IAM role, "
            "the profile (AWS_PROFILE) and the region; for a public store try storage_options={'anon': True}",
        )
    if isinstance(exc, FileNotFoundError) or status == 404 or "NoSuchBucket" in text or "GroupNotFound" in name:
        return InputError(
            f"{url} does not exist or is not a zarr store ({name}: {text})",
            hint="check the bucket and key (e.g. `aws s3 ls` / `gsutil ls` on the parent); the URL must name "
            "the .zarr folder written by anndata's write_zarr or `cellucid prepare IN OUT.zarr --format zarr`",
        )
    if isinstance(exc, ImportError):
        return InputError(
            f"cannot read {url}: {text}",
            hint=f"install the filesystem for {scheme}://: pip install 'cellucid[remote]' "
            "(s3fs, aiohttp for http(s)); gcsfs for gs://, adlfs for az://",
        )
    return InputError(
        f"cannot open {url} ({name}: {text})",
        hint="check the URL, the network and the endpoint (AWS_ENDPOINT_URL for S3-compatible servers); "
        "a .zarr AnnData store is written by anndata's write_zarr",
    )


def _fsspec_store(url: str, storage_options: dict[str, Any] | None) -> Any:
    from zarr.storage import FsspecStore

    options = dict(storage_options or {})
    # A fresh filesystem per open: credentials and endpoint are read now, not reused from an
    # earlier open with other ones.
    options.setdefault("skip_instance_cache", True)
    if _scheme(url) in ("http", "https"):
        # A static HTTP server cannot list folders; zarr reads consolidated metadata instead.
        options.setdefault("simple_links", True)
    return FsspecStore.from_url(url.rstrip("/"), storage_options=options, read_only=True)


def open_remote(url: str, options: SourceOptions) -> Any:
    """Open the AnnData zarr store at ``url`` lazily (a :class:`RemoteStoreSource`).

    Raises :class:`InputError` with a hint for a missing bucket or key, no credentials,
    access denied, a missing filesystem package, or an unreachable store.
    """
    import zarr

    from cellucid.data.remote_store import RemoteSettings, RemoteStore
    from cellucid.data.store_source import StoreBackend

    if url.rstrip("/").lower().endswith((".h5ad", ".h5mu", ".loom", ".h5")):
        raise InputError(f"{url}: only zarr stores are read from object storage so far",
                         hint="write a zarr store with `cellucid prepare IN.h5ad OUT.zarr --format zarr` "
                         "(or anndata's write_zarr), upload the folder, and serve its URL")
    if not options.backed:
        raise InputError("--no-backed / backed=False is not supported for a remote store",
                         hint="leave it out: remote stores are always read lazily")
    try:
        store = RemoteStore(_fsspec_store(url, options.storage_options), url, RemoteSettings.from_env())
        root = zarr.open_group(store, mode="r")
        backend = StoreBackend(root, url)
        name = options.dataset_name or url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".zarr") or url
        return RemoteStoreSource(backend, options, "zarr", name)
    except Exception as exc:  # noqa: BLE001 - every failure to open becomes an InputError with a hint
        raise describe_failure(url, exc) from None


class RemoteStoreSource(StoreSource):
    """A zarr store read over the network: no gene-major index, no files to watch, no
    background reads of the whole matrix."""

    reads_are_remote = True

    def _attach_gene_index(self) -> None:
        # Building one would download the whole matrix; the prepared zarr layout
        # (`prepare --format zarr`) answers one gene in one or two requests instead.
        return None

    def watched_paths(self) -> tuple[str, ...]:
        return ()

    def close(self) -> None:
        fs = getattr(getattr(self.remote_store, "_store", None), "fs", None)
        super().close()
        if fs is not None:
            _close_filesystem(fs)

    @property
    def remote_store(self) -> Any:
        """The :class:`~cellucid.data.remote_store.RemoteStore` (request count, cache), for tests and bench."""
        return self._backend.root.store


def _close_filesystem(fs: Any) -> None:
    """Close the HTTP sessions of an async fsspec filesystem (aiohttp warns about open ones)."""
    from zarr.core.sync import sync

    async def close() -> None:
        session = getattr(fs, "_session", None)  # HTTPFileSystem
        if session is not None:
            await session.close()
        client = getattr(fs, "_s3", None)  # s3fs
        if client is not None:
            await client.__aexit__(None, None, None)

    try:
        sync(close())
    except Exception:  # noqa: BLE001 - closing is best effort; the process may be ending
        pass
