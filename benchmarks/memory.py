"""Peak memory of one training step, measured in a fresh process per implementation.

Method (Linux): in a new process, import the implementation, make the weights and data,
build the model (for JAX: compile), and run two untimed steps so that lazily loaded library
code, thread pools and persistent buffers (torch's .grad tensors) exist. Then drop the
results, run the garbage collector, give freed heap back with glibc ``malloc_trim(0)``,
reset the peak-RSS counter by writing 5 to /proc/self/clear_refs, and read VmRSS as the
baseline. Run `steps` more steps and read VmHWM (peak resident set since the reset).
Reported: ``peak_mb = (VmHWM - baseline VmRSS) / 2**20`` — the extra resident memory a
step needs on top of the weights and the data: activations, caches, gradients, temporaries.

Limits: RSS counts pages, not bytes (4 KiB granularity, irrelevant at these sizes); memory
an allocator keeps after the warm-up steps and reuses (a caching allocator, glibc arenas
that malloc_trim cannot return, NumPy's small-block cache) is in the baseline and so not
counted, which can understate a step's true need; memory touched for the first time during
the timed steps by threads or lazy initialisation is counted. The baseline itself
(interpreter + framework + weights + data) is reported as baseline_mb for context.
"""
from __future__ import annotations

import ctypes
import gc
import re


def _status(key: str) -> int:
    with open("/proc/self/status") as f:
        m = re.search(rf"^{key}:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) * 1024


def _malloc_trim() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak() -> int:
    """Reset VmHWM to the current RSS; return that RSS in bytes."""
    gc.collect()
    _malloc_trim()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status("VmRSS")


def peak_since_reset() -> int:
    return _status("VmHWM")


def measure_step_memory(step, *, warm_steps: int = 2, steps: int = 3) -> dict:
    for _ in range(warm_steps):
        step()
    base = reset_peak()
    for _ in range(steps):
        step()
    peak = peak_since_reset()
    return {"baseline_mb": base / 2**20, "peak_mb": (peak - base) / 2**20,
            "method": "VmHWM - VmRSS after warm-up, clear_refs reset, malloc_trim"}
