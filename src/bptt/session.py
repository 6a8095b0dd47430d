"""What surrounds the training loop in a process: the progress bar, the throughput window,
Ctrl-C handling and the BLAS thread count (train.py uses these; nothing here touches the math)."""
from __future__ import annotations

import os
import signal
import sys
import time

from . import _validate as v

_BLAS_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                 "openblas_set_num_threads64_", "openblas_set_num_threads", "MKL_Set_Num_Threads")


def set_blas_threads(n: int) -> bool:
    """Set the thread count of the BLAS that NumPy loaded (OpenBLAS or MKL), via ctypes.
    Returns False (and changes nothing) when no known BLAS is found.

    The models trained here are small: their time goes into the Python time loop and small
    GEMMs, where one thread is as fast as two, and on a busy machine much faster (a dates step
    measured 16 ms with 1 OpenBLAS thread, 138 ms with 2, while other jobs ran). ``bptt
    train`` therefore uses ``--threads 1`` unless told otherwise; library users choose with
    ``bptt.set_blas_threads(n)`` (docs/benchmarks.md: 1 thread is as fast as 2 on a quiet
    machine up to about B·H² = 32·128², and 10× faster and more under load)."""
    import ctypes

    v.positive_int("threads", n, 1, os.cpu_count() or 1)  # more threads than cores only ever slow BLAS down
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() or "mkl" in line.lower()}
    except OSError:
        return False
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _BLAS_SETTERS:
            if hasattr(lib, name):
                getattr(lib, name)(int(n))
                return True
    return False


class Window:
    """Running means of the training loss and gradient norm between evaluations, and throughput."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.n = self.loss = self.norm = self.tokens = 0
        self.ema = None

    def add(self, loss, norm, tokens):
        self.n += 1
        self.loss += loss
        self.norm += norm
        self.tokens += tokens
        self.ema = loss if self.ema is None else 0.98 * self.ema + 0.02 * loss

    def state(self) -> dict:
        return {"n": self.n, "loss": self.loss, "norm": self.norm, "tokens": self.tokens, "ema": self.ema}

    def load(self, d: dict) -> None:
        self.n, self.loss, self.norm, self.tokens, self.ema = d["n"], d["loss"], d["norm"], d["tokens"], d["ema"]

    def restart(self):
        self.t0 = time.perf_counter()

    def rate(self) -> float:
        dt = time.perf_counter() - self.t0
        return self.tokens / dt if dt > 0 else 0.0

    def flush(self) -> dict:
        row = {} if self.n == 0 else {"train_loss": self.loss / self.n, "grad_norm": self.norm / self.n,
                                      "tokens_per_s": round(self.rate(), 1)}
        ema = self.ema
        self.__init__()
        self.ema = ema
        return row


class Bar:
    """A tqdm bar on stderr: the share of the run done (of its steps, or of its minutes if they
    run out first), the steps and seconds so far, the
    smoothed training loss, tokens (time steps × sequences) per second and the learning rate;
    evaluation lines are written above it."""

    SCALE = 1000  # the bar counts thousandths of the run

    def __init__(self, config, initial_step, initial_seconds, desc):
        self.bar, self._last = None, 0.0
        self.steps, self.seconds = config.steps, None if config.minutes is None else 60 * config.minutes
        if not config.progress:
            return
        from tqdm.auto import tqdm  # here, not at the top: `import bptt` needs numpy only
        self.bar = tqdm(total=self.SCALE, initial=self.done(initial_step, initial_seconds), desc=desc,
                        dynamic_ncols=True, file=sys.stderr, bar_format="{desc}: {percentage:3.0f}%|{bar}|{postfix}")

    def done(self, step, elapsed) -> int:
        """Thousandths of the run done after ``step`` steps and ``elapsed`` seconds: of the budget
        that ends it first (steps, or minutes when given), so a run shows 100% when it ends."""
        fraction = step / self.steps
        if self.seconds is not None:
            fraction = max(fraction, elapsed / self.seconds)
        return min(self.SCALE, int(self.SCALE * fraction))

    def update(self, step, elapsed, window, lr):
        if self.bar is None:
            return
        self.bar.update(max(0, self.done(step, elapsed) - self.bar.n))
        now = time.perf_counter()
        if now - self._last > 0.25 or step == self.steps:
            self._last = now
            budget = "" if self.seconds is None else f"/{self.seconds:.0f}"
            self.bar.set_postfix_str(f"step {step}/{self.steps}, {elapsed:.0f}{budget} s, loss={window.ema:.4g} "
                                     f"tok/s={window.rate():,.0f} lr={lr:.3g}", refresh=False)

    def show_eval(self, row):
        text = f"step {row['step']}: " + ", ".join(
            f"{k}={_fmt(v)}" for k, v in row.items() if k.startswith(("val", "train_loss")))
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def catch_sigint(trainer):
    """Make the first Ctrl-C a request to stop after the current step; the second aborts."""

    def handler(signum, frame):
        if trainer._interrupted:
            raise KeyboardInterrupt
        trainer._interrupted = True
        print("\nbptt: interrupted; saving last.npz after this step (Ctrl-C again to abort)", file=sys.stderr)

    try:
        return signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave Ctrl-C alone
        return None
