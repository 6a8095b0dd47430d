"""The timing protocol: visits.

BLAS and OpenMP worker threads keep spinning after a call (OpenBLAS about 100 ms, torch's
OpenMP about 10 ms; see shared/perf-notes.md), so alternating implementations step by step
lets one steal CPU from the next. Instead each implementation gets *visits*: at least
`warm_seconds` of untimed steps (at least one), then its timed steps, one `perf_counter` pair
per step. The order of the implementations rotates every round; the statistic is the median
over all timed steps of all rounds. The cyclic garbage collector is collected before and
disabled during each visit (as `timeit` does).
"""
from __future__ import annotations

import gc
import statistics
import time
from typing import Callable


def visit(step: Callable[[], None], *, warm_seconds: float, timed_seconds: float,
          min_steps: int = 3, max_steps: int = 5000) -> list[float]:
    """Warm up for >= warm_seconds (at least one step), then time enough single steps to
    fill about timed_seconds (at least min_steps). Returns the per-step times in seconds."""
    gc.collect()
    gc.disable()
    try:
        t_start = time.perf_counter()
        n_warm = 0
        while True:
            step()
            n_warm += 1
            elapsed = time.perf_counter() - t_start
            if elapsed >= warm_seconds:
                break
        per_step = elapsed / n_warm
        n = int(min(max_steps, max(min_steps, timed_seconds / per_step)))
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        return times
    finally:
        gc.enable()


def run_visits(steps: dict[str, Callable[[], None]], *, rounds: int, warm_seconds: float,
               timed_seconds: float, log=None) -> dict[str, dict]:
    """Interleave the implementations in visits, rotating the order every round."""
    names = list(steps)
    samples: dict[str, list[float]] = {k: [] for k in names}
    round_medians: dict[str, list[float]] = {k: [] for k in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            times = visit(steps[name], warm_seconds=warm_seconds, timed_seconds=timed_seconds)
            samples[name].extend(times)
            round_medians[name].append(statistics.median(times))
            if log:
                log(f"  round {r} {name}: {len(times)} steps, median {1e3 * round_medians[name][-1]:.3f} ms")
    return {k: summarize(samples[k], round_medians[k]) for k in names}


def summarize(times: list[float], round_medians: list[float]) -> dict:
    s = sorted(times)
    q = lambda f: s[min(len(s) - 1, int(f * len(s)))]  # noqa: E731
    return {
        "median_s": statistics.median(s),
        "min_s": s[0],
        "p10_s": q(0.10),
        "p90_s": q(0.90),
        "n_steps": len(s),
        "round_medians_s": round_medians,
    }


def median_seconds(f: Callable[[], None], repeats: int) -> float:
    """One untimed call, then the median of ``repeats`` timed calls, in seconds (the micro
    benchmarks and the phase profile; the framework comparison uses visits above)."""
    f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)
