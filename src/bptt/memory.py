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


def _n(value) -> int | None:
    """A positive int option, else None (the recipe's own checks report bad values)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        return None
    return int(value)


def task_sizes(task: str, options: dict, batch_size) -> list[tuple[str, int, int]]:
    """The largest sequence batches (argument, T, B) a task's run allocates, from its options
    and the batch size alone (before any data is drawn): training, validation and test."""
    B, o, out = _n(batch_size), options, []
    if task == "addition":
        bits = _n(o.get("bits"))
        tests = o.get("test_bits")
        tests = [tests] if not isinstance(tests, (list, tuple)) else tests
        if bits:
            out += [("--bits", bits + 1, 500)] + ([("--bits and --batch-size", bits + 1, B)] if B else [])
        size = _n(o.get("test_size", 1000))
        out += [("--test-bits", n + 1, size) for n in map(_n, tests) if n and size]
    elif task == "parity":
        n, test, size = _n(o.get("length")), _n(o.get("test_length")), _n(o.get("test_size", 500))
        out += ([("--length", n, 500)] if n else []) + ([("--length and --batch-size", n, B)] if n and B else [])
        out += [("--test-length", test, size)] if test and size else []
    elif task == "digits" and B and _n(o.get("bits")):
        out.append(("--batch-size", _n(o["bits"]), B))
    elif task in ("charlm", "wordlm") and B and _n(o.get("seq_len")):
        out.append(("--seq-len and --batch-size", _n(o["seq_len"]), B))
    elif task == "timeseries" and B and _n(o.get("window")):
        out.append(("--window and --batch-size", _n(o["window"]), B))
    elif B:  # sentiment, dates: sentences of at most a few hundred steps
        out.append(("--batch-size", 256, B))
    return out


def check_task(task: str, options: dict, batch_size, model: dict) -> None:
    """Refuse (ValueError naming the CLI argument) a task whose data or passes cannot fit: per
    time step and sequence, the inputs and targets as drawn (int64/float64: 64 bytes, generous
    for the tasks' 1–2 features) plus a pass of the model (``pass_bytes``' count for an Elman
    cell of ``model``'s hidden size, layers and directions, in float64)."""
    H = _n(model.get("hidden_size")) or 32
    layers, dirs = _n(model.get("num_layers")) or 1, 2 if model.get("bidirectional") else 1
    per = 64 + 8 * (layers * dirs * 7 * H + 2 * 2)
    for what, T, B in task_sizes(task, options, batch_size):
        check(f"{what} ({T} steps × {B} sequences)", float(T) * B * per, f"make {what.split(' and ')[0]} smaller")
