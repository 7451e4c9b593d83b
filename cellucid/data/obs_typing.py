"""How obs columns become fields: dtype hints, categorical/boolean/continuous values, colors.

The rules are listed in :mod:`cellucid.data.anndata_like` and ``docs/data-sources.md``.
"""

from __future__ import annotations

import re
import sys
from typing import Any, Iterable

import numpy as np

# pandas is imported only where values are pandas objects (an in-memory AnnData, or an
# encoding the store reader hands to anndata): a backed store's columns arrive as numpy
# arrays or cellucid.data.elements types, and importing pandas would cost ~0.3 s at start.
from cellucid.data.base import (
    FieldData,
)
from cellucid.data.elements import Categorical, Masked

MAX_STRING_CATEGORIES = 1000
_HEX = re.compile(r"^#([0-9a-fA-F]{6})([0-9a-fA-F]{2})?$")
_HEX3 = re.compile(r"^#([0-9a-fA-F]{3})$")


# ---------------------------------------------------------------------------------------
# Value conversion helpers
# ---------------------------------------------------------------------------------------


def hint_from_dtype(dtype: Any) -> str:
    """Classify a pandas/numpy dtype without looking at values."""
    import pandas as pd

    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return "continuous"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return "string"
    return f"unsupported: values of type {dtype}"


def array_hint(dtype: Any) -> str:
    """Classify a numpy array column by its dtype (for backends reading plain datasets):
    ``boolean``, ``continuous``, ``string`` or ``unsupported: …``."""
    kind = np.dtype(dtype).kind
    if kind == "b":
        return "boolean"
    if kind in "iuf":
        return "continuous"
    if kind in "OSUT":
        return "string"
    return f"unsupported: values of type {dtype}"


def to_str_list(values: Iterable[Any]) -> list[str]:
    if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "OUT":
        items = values.tolist()  # the very objects (object), or str (U, T)
        if set(map(type, items)) <= {str}:  # the usual case, e.g. var names: no Python loop
            return items
    out = []
    for v in values:
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        out.append(str(v))
    return out


def is_missing_scalar(v: Any) -> bool:
    if v is None:
        return True
    pd = sys.modules.get("pandas")  # pd.NA / NaT can only exist once pandas is imported
    if pd is not None:
        try:
            return bool(pd.isna(v))
        except (TypeError, ValueError):
            return False
    try:
        return bool(v != v)  # NaN, numpy NaT
    except (TypeError, ValueError):
        return False


def categorical_data(name: str, values: Any, kind: str) -> FieldData:
    if isinstance(values, Categorical):  # read directly from the file: no pandas needed
        cat = values
    else:
        import pandas as pd

        cat = values if isinstance(values, pd.Categorical) else pd.Categorical(values)
    codes = np.asarray(cat.codes, dtype=np.int32)
    return FieldData(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        codes=codes,
        categories=to_str_list(cat.categories),
        n_missing=int(np.count_nonzero(codes < 0)),
    )


def boolean_data(name: str, values: Any) -> FieldData:
    if isinstance(values, Masked):
        mask = np.asarray(values.mask, dtype=bool)
        codes = np.where(mask, -1, np.asarray(values.values, dtype=bool).astype(np.int32)).astype(np.int32)
        return FieldData(name=name, kind="boolean", codes=codes, categories=["False", "True"],
                         n_missing=int(np.count_nonzero(mask)))
    if isinstance(values, np.ndarray) and values.dtype == bool:
        codes = values.astype(np.int32)
        return FieldData(name=name, kind="boolean", codes=codes, categories=["False", "True"], n_missing=0)
    import pandas as pd

    arr = pd.array(values, dtype="boolean") if not isinstance(values, np.ndarray) or values.dtype != bool else values
    if isinstance(arr, np.ndarray):
        codes = arr.astype(np.int32)
    else:
        mask = np.asarray(arr.isna())
        codes = np.where(mask, -1, np.asarray(arr.fillna(False), dtype=np.int32)).astype(np.int32)
    return FieldData(
        name=name,
        kind="boolean",
        codes=codes,
        categories=["False", "True"],
        n_missing=int(np.count_nonzero(codes < 0)),
    )


def continuous_data(name: str, values: Any) -> FieldData:
    if isinstance(values, np.ndarray):
        out = values.astype(np.float32)
    elif isinstance(values, Masked):
        out = np.asarray(values.values).astype(np.float32)
        out[np.asarray(values.mask, dtype=bool)] = np.nan
    else:  # pandas nullable array: NA → NaN
        import pandas as pd

        out = pd.array(values).to_numpy(dtype=np.float32, na_value=np.nan)
    return FieldData(
        name=name,
        kind="continuous",
        values=np.ascontiguousarray(out, dtype=np.float32),
        n_missing=int(np.count_nonzero(np.isnan(out))),
    )


def string_categories(values: Any) -> tuple[np.ndarray | None, list[str] | None, int, int]:
    """Factorize strings: ``(codes, categories, n_distinct, n_present)`` — codes int32 with
    -1 = missing, sorted categories, number of distinct and of non-missing values. Codes and
    categories are ``None`` when the strings are not categorical
    (:func:`string_is_categorical`): nobody needs them then."""
    plain = plain_strings(values)
    if plain is not None:
        return factorize_str(*plain)
    import pandas as pd

    series = pd.Series(np.asarray(values, dtype=object))
    missing = series.isna().to_numpy()
    strings = series.where(~missing, None).map(lambda v: v.decode() if isinstance(v, bytes) else v)
    codes, uniques = pd.factorize(strings, sort=True, use_na_sentinel=True)
    n_present = int((~missing).sum())
    if not string_is_categorical(len(uniques), n_present):
        return None, None, len(uniques), n_present
    return codes.astype(np.int32), to_str_list(uniques), len(uniques), n_present


def plain_strings(values: Any) -> tuple[list[str], np.ndarray | None] | None:
    """``(strings, missing mask or None)`` when ``values`` holds only ``str`` (with a mask
    for a nullable string column), else ``None`` (then pandas handles the odd cases)."""
    if isinstance(values, Masked):
        mask = np.asarray(values.mask, dtype=bool)
        inner = plain_strings(values.values)
        if inner is None or inner[1] is not None:
            return None
        return inner[0], mask
    if not isinstance(values, np.ndarray) or values.ndim != 1:
        return None
    if values.dtype.kind in "UT":
        return values.tolist(), None
    if values.dtype.kind == "O":
        items = values.tolist()
        if not items or set(map(type, items)) == {str}:
            return items, None
    return None


def factorize_str(items: list[str], missing: np.ndarray | None):
    """:func:`string_categories` for plain strings: what ``pandas.factorize(sort=True)``
    gives, with C-level set/dict work instead of pandas. A column that is not categorical
    (say a million barcodes) costs one ``set``: no sort, no per-cell codes."""
    present = items if missing is None else [v for v, m in zip(items, missing.tolist()) if not m]
    distinct = set(present)
    if not string_is_categorical(len(distinct), len(present)):
        return None, None, len(distinct), len(present)
    uniques = sorted(distinct)  # str order = code points, as pandas sorts
    lookup = {v: i for i, v in enumerate(uniques)}
    found = np.fromiter(map(lookup.__getitem__, present), dtype=np.int32, count=len(present))
    if missing is None:
        return found, uniques, len(uniques), len(present)
    codes = np.full(len(items), -1, dtype=np.int32)
    codes[~missing] = found
    return codes, uniques, len(uniques), len(present)


def string_is_categorical(n_distinct: int, n_present: int) -> bool:
    return n_distinct <= MAX_STRING_CATEGORIES and n_distinct * 2 <= max(n_present, 1)


def normalize_colors(raw: Any, n: int) -> list[str] | None:
    """``uns`` colors as ``#rrggbb`` strings, or ``None`` if the length differs from ``n``
    or an entry is not a color."""
    if raw is None:
        return None
    try:
        values = to_str_list(np.asarray(raw).reshape(-1))
    except Exception:  # noqa: BLE001 - anything odd in uns is simply not used
        return None
    if len(values) != n:
        return None
    out = []
    for v in values:
        v = v.strip()
        m = _HEX.match(v)
        if m:
            out.append("#" + m.group(1).lower())
            continue
        m = _HEX3.match(v)
        if m:
            out.append("#" + "".join(c * 2 for c in m.group(1).lower()))
            continue
        try:  # named colors ("red", "tab:blue") when matplotlib is around
            from matplotlib.colors import to_hex

            out.append(to_hex(v))
        except Exception:  # noqa: BLE001
            return None
    return out
