"""Refuse, before allocating, what cannot fit: a model's parameters, a batch's pass.

Every estimate is in bytes and errs high by at most a small factor: it exists to turn a size
that would make the kernel kill the process (``RNN(3, 10**9, 5)`` asks for 8 GB per weight)
into a ValueError naming the argument, the estimate and the memory this machine has."""
from __future__ import annotations

import os

import numpy as np

FRACTION = 0.9  # of the memory available now that one allocation may take


def available_bytes() -> int:
    """The memory the kernel reports available (MemAvailable), or the physical memory where
    /proc/meminfo does not exist."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62  # unknown: no limit


def check(what: str, n_bytes: float, hint: str) -> None:
    """ValueError when ``n_bytes`` exceed FRACTION of the available memory: ``what`` names the
    arguments that decide the size, ``hint`` what to make smaller."""
    limit = FRACTION * available_bytes()
    if n_bytes > limit:
        raise ValueError(f"{what} needs about {_fmt(n_bytes)}, more than the {_fmt(limit)} this machine can "
                         f"give it now; {hint}")


def params_bytes(shapes: dict, dtype) -> int:
    """The model's parameters in ``dtype``, plus the float64 draw of the largest one (init.py
    draws in float64 and casts)."""
    sizes = [int(np.prod(s, dtype=np.float64)) for s in shapes.values()]
    return sum(sizes) * np.dtype(dtype).itemsize + 8 * max(sizes)


def pass_bytes(net, T: int, B: int) -> float:
    """A forward and backward pass over (T, B): per layer and direction the cell's states and
    gates (the rows of its W: H for Elman, 4H LSTM, 3H GRU) kept for the backward, their
    deltas, and the head's logits — a generous count of the arrays the passes allocate."""
    rows = net.cell.param_shapes(net.hidden_size, 1)["W"][0]
    per_step = net.num_layers * net.num_directions * (3 * rows + 4 * net.hidden_size) + 2 * net.output_size
    return float(T) * B * per_step * np.dtype(net.dtype).itemsize


def _fmt(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n / 1e3:.3g} kB"
