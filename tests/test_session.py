"""session.py: the BLAS thread count (the rest of the module is exercised by test_train)."""
import ctypes

import numpy as np
import pytest

import bptt


def _openblas_threads():
    """OpenBLAS's own count, read back through its getter (None if NumPy's BLAS is not OpenBLAS)."""
    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower()})
    for path in paths:
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_", "openblas_get_num_threads"):
            if hasattr(lib, name):
                return getattr(lib, name)()
    return None


def test_set_blas_threads_sets_what_openblas_reports():
    np.ones((2, 2)) @ np.ones((2, 2))  # BLAS loaded
    before = _openblas_threads()
    if before is None:
        pytest.skip("NumPy's BLAS here is not OpenBLAS")
    try:
        assert bptt.set_blas_threads(1) is True
        assert _openblas_threads() == 1
    finally:
        bptt.set_blas_threads(before)
    assert _openblas_threads() == before


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError), ("2", TypeError),
                                        (True, TypeError), (None, TypeError)])
def test_set_blas_threads_rejects_what_is_not_a_positive_integer(bad, error):
    with pytest.raises(error, match=r"threads must be an integer ≥ 1, got"):
        bptt.set_blas_threads(bad)
