"""What machine and software a run was on, and the machine's float32 GEMM ceiling."""
from __future__ import annotations

import io
import os
import platform
import shlex
import time
from contextlib import redirect_stdout
from importlib import metadata

import numpy as np


def cpu_info() -> dict:
    info = {"logical_cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return info
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key in ("model name", "vendor_id", "cpu family", "model") and key not in info:
            info[key] = value
        if key == "flags" and "flags" not in info:
            flags = value.split()
            info["flags"] = [f for f in flags if f.startswith(("avx", "amx", "fma")) or f == "hypervisor"]
    return info


def blas_info() -> dict:
    try:
        cfg = np.show_config(mode="dicts")
        deps = cfg.get("Build Dependencies", {})
        return {k: {kk: deps[k].get(kk) for kk in ("name", "version", "openblas configuration")}
                for k in ("blas", "lapack") if k in deps}
    except TypeError:  # older numpy without mode=
        buf = io.StringIO()
        with redirect_stdout(buf):
            np.show_config()
        return {"text": buf.getvalue()}


def versions() -> dict:
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for dist in ("torch", "jax", "jaxlib", "bptt"):  # from metadata: importing would start runtimes
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def gemm_ceiling(n: int = 2048, repeats: int = 5, dtype=np.float32) -> dict:
    """Float32 n³ GEMM with NumPy (its BLAS, default threads), best of `repeats`, GFLOP/s."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=dtype)
    b = rng.standard_normal((n, n), dtype=dtype)
    c = np.empty((n, n), dtype=dtype)
    np.matmul(a, b, out=c)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        times.append(time.perf_counter() - t0)
    flops = 2 * n**3
    return {"n": n, "gflops": flops / min(times) / 1e9,
            "gflops_median": flops / sorted(times)[len(times) // 2] / 1e9, "repeats": repeats}


def gemm_ceiling_threads(threads: int, n: int = 2048, repeats: int = 5) -> dict:
    """The same GEMM in a fresh process with OPENBLAS_NUM_THREADS=threads (OpenBLAS reads it
    only at load time)."""
    import json
    import subprocess
    import sys
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
            f"import json, machine; print(json.dumps(machine.gemm_ceiling({n}, {repeats})))")
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(out.stdout) | {"threads": threads}


def loadavg() -> list[float] | None:
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def git_commit() -> str | None:
    """The repository's HEAD commit, with "+dirty" when tracked files differ from it (None
    outside a git checkout): what a result file was measured with."""
    import subprocess
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def provenance(script: str, argv: list[str]) -> dict:
    """The three things every result file records: the command (``python benchmarks/SCRIPT
    ARGS``, quoted for a POSIX shell), the git commit, and the machine (CPU model and logical cores,
    BLAS, versions)."""
    import sys
    return {"command": shlex.join([os.path.basename(sys.executable), f"benchmarks/{script}", *argv]),
            "git_commit": git_commit(),
            "machine": {"cpu": cpu_info(), "blas": blas_info(), "versions": versions()}}
