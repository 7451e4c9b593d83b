"""The layout codec: quantization bound, file names, raw/gzip files."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cellucid.data import export_layout as layout

finite = st.floats(-1e6, 1e6, allow_nan=False, width=32)


@settings(max_examples=200, deadline=None)
@given(arrays(np.float32, st.integers(1, 200), elements=finite), st.sampled_from([8, 16]))
def test_quantization_error_within_stated_bound(values, bits):
    lo, hi = layout.finite_range(values)
    q = layout.quantize(values, lo, hi, bits)
    back = layout.dequantize(q, lo, hi, bits)
    bound = layout.quant_error_bound(lo, hi, bits)
    # the bound plus float32 rounding of the decoded value
    assert np.all(np.abs(back.astype(np.float64) - values) <= bound + np.spacing(np.float32(max(abs(lo), abs(hi)))) * 2)
    assert q.max() < (255 if bits == 8 else 65535)  # the top code is reserved for missing


def test_non_finite_values_get_the_missing_code():
    v = np.array([0, 1, np.nan, np.inf, -np.inf], dtype=np.float32)
    q = layout.quantize(v, 0, 1, 8)
    assert q.tolist() == [0, 254, 255, 255, 255]
    assert np.isnan(layout.dequantize(q, 0, 1, 8)[2:]).all()


def test_slugs_are_file_safe_and_positions_keep_names_apart():
    assert layout.slug("a/b c") == "a_b_c" == layout.slug("a_b_c")
    assert layout.slug("..") == "field" and layout.slug("é") == "field"
    assert len(layout.slug("x" * 500)) == 60


@pytest.mark.parametrize("arr,dtype,gz", [(np.arange(100000) % 3, "uint8", True),
                                          (np.random.default_rng(0).random(100000), "float32", False)])
def test_compress_only_when_it_pays(tmp_path, arr, dtype, gz):
    name = layout.write_array(tmp_path / "f.bin", arr, dtype, 6)
    assert name.endswith(".gz") is gz
    np.testing.assert_array_equal(layout.read_array(tmp_path / name, dtype, arr.size), arr.astype(dtype))
