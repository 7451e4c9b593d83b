"""Reading one gene's column of the expression matrix, fast.

- :mod:`.columns` — one gene from dense, CSR or CSC storage (h5py, zarr or in memory);
- :mod:`.hdf5_chunks` — direct reads of HDF5 chunks without h5py's per-call overhead;
- :mod:`.gene_index` — the gene-major cache of a CSR matrix (reading, lifecycle),
  written by :mod:`.index_build`;
- :mod:`.index_cache` — where those caches live: size cap, LRU eviction, free space, lock.
"""
