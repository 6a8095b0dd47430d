"""memory.py: sizes that cannot fit are refused with a ValueError, before anything is allocated."""
import tracemalloc

import numpy as np
import pytest

import bptt


def peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_model_too_large_is_refused_before_allocating():
    def build():
        with pytest.raises(ValueError, match=r"hidden_size=1000000000, .*needs about .* TB, more than the .* GB this machine can give it now; choose smaller"):
            bptt.RNN(3, 10**9, 5)
    assert peak_bytes(build) < 10**7


def test_a_checkpoint_config_with_absurd_layers_is_refused():
    with pytest.raises(ValueError, match="num_layers=10000000"):
        bptt.RNN(**{**bptt.RNN(3, 4, 5).config, "num_layers": 10**7, "hidden_size": 64})


def test_a_batch_too_large_for_a_pass_is_refused_before_allocating():
    net = bptt.RNN(5, 64, 5)
    x = np.broadcast_to(np.zeros((1, 1), dtype=np.int64), (10**6, 10**4))  # a view: no memory
    def run():
        with pytest.raises(ValueError, match=r"1000000 steps × 10000 sequences needs about .*smaller batch"):
            net.forward(x)
    assert peak_bytes(run) < 10**7
