"""Data-parallel throughput on this machine, the reduction's α and β on loopback, and the cost
model's prediction for 2–64 machines (costmodel.py).

    python benchmarks/distributed.py                     # everything; writes benchmarks/results/distributed-*.json
    python benchmarks/distributed.py --repeats 1 --steps 3 --shapes 256   # a quick look
    python benchmarks/distributed.py --report benchmarks/results/distributed-elman.json   # its tables (markdown)

Configurations, each a fresh process (OpenBLAS reads its thread count at load time), timed
on the trainer's own step (Trainer.train_step: the shard's loss and gradient, the fused
ordered reduction P1, clipping, Adam): charlm on tiny Shakespeare, B = 32, T = 50, float32:

    1 process × 1 BLAS thread     the baseline
    1 process × 2 BLAS threads    the machine's two cores through BLAS
    2 ranks   × 1 BLAS thread     mpiexec -n 2, 16 sequences each

For each: sequences per second (median over ``--repeats`` processes of the mean step over
``--steps`` steps after 2 warm-up steps), and under MPI the seconds per step inside the
reduction (rank 0's Gather + Bcast, including the wait for the slower rank). Then a loopback
measurement of the P1 pattern (Gather + Bcast of a float64 buffer over 2 ranks) for 8 B to
32 MiB, α and β fitted, and the prediction of costmodel.predict for each shape's gradient.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import costmodel  # noqa: E402
import machine  # noqa: E402

ROOT = HERE.parent
TEXT = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"
MPIEXEC = Path(sys.executable).parent / "mpiexec"


# ----------------------------------------------------------------------------- in a process
def worker(hidden: int, cell: str, batch: int, seq_len: int, steps: int, text: str) -> dict | None:
    """Time ``steps`` training steps (after 2 warm-up steps) in this process (under mpiexec:
    this rank's share of the batch); rank 0 returns the numbers, the other ranks None."""
    from bptt import recipes
    from bptt.train import TrainConfig, Trainer

    recipe = recipes.make("charlm", text=text, seq_len=seq_len)
    model = recipe.build_model(hidden_size=hidden, cell=cell, seed=0)
    config = TrainConfig(steps=10**6, batch_size=batch, lr=2e-3, clip=5.0, progress=False)
    trainer = Trainer(recipe, model, config)
    world, spent = trainer.world, [0.0]
    reduce_sum = world.reduce_sum

    def timed(buffer):
        t0 = time.perf_counter()
        out = reduce_sum(buffer)
        spent[0] += time.perf_counter() - t0
        return out

    world.reduce_sum = timed
    for _ in range(2):
        trainer.train_step()
    world.barrier()
    spent[0] = 0.0
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    world.barrier()
    step_s = (time.perf_counter() - t0) / steps
    if world.rank:
        return None
    return {"step_s": step_s, "sequences_per_s": batch / step_s, "comm_s_per_step": spent[0] / steps,
            "ranks": world.size, "n_params": int(sum(a.size for a in model.params.values()))}


def pattern(sizes_bytes: list[int], repeats: int) -> dict | None:
    """Median seconds of bptt's reduction (MPIWorld.reduce_sum: Gather to 0 + ordered sum +
    Bcast) of float64 buffers of each size over this world's ranks; rank 0 returns them."""
    from bptt import distributed

    world = distributed.world()
    out = {}
    for size in sizes_bytes:
        buf = np.ones(max(1, size // 8))
        times = []
        for _ in range(repeats):
            world.barrier()
            t0 = time.perf_counter()
            world.reduce_sum(buf)
            times.append(time.perf_counter() - t0)
        out[size] = float(np.median(times))
    return None if world.rank else {"sizes_bytes": list(out), "seconds": list(out.values()), "ranks": world.size}


# ----------------------------------------------------------------------------- the driver
def _run(argv: list[str], ranks: int, threads: int) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, str(Path(__file__).resolve()), *argv]
    if ranks > 1:
        cmd = [str(MPIEXEC), "-n", str(ranks), *cmd]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if p.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


CONFIGS = (("1 process × 1 thread", 1, 1), ("1 process × 2 threads", 1, 2), ("2 ranks × 1 thread", 2, 1))


def report(result: dict, machines=(2, 8, 64)) -> str:
    """Markdown tables of one result file: throughput per configuration, then the predicted
    efficiency of the ordered reduction (P1) and of a ring allreduce at ``machines``."""
    cell, lines = result["cell"], []
    lines += [f"| {cell}, H | configuration | sequences/s | × 1 process × 1 thread | ms per step | ms in the reduction |",
              "| --- | --- | ---: | ---: | ---: | ---: |"]
    for H, shape in result["shapes"].items():
        for name, r in shape["configs"].items():
            lines.append(f"| {H} | {name} | {r['sequences_per_s']:.0f} | {r['speedup_vs_1x1']:.2f} | "
                         f"{1e3 * r['step_s']:.1f} | {1e3 * r['comm_s_per_step']:.2f} |")
    lines += ["", f"| {cell}, H | parameters | S (MB) | link | " + " | ".join(f"E({n}) P1 / ring" for n in machines) + " |",
              "| --- | ---: | ---: | --- |" + " ---: |" * len(machines)]
    for H, shape in result["shapes"].items():
        rows = shape["prediction_loopback"] + shape["prediction"]
        for link in dict.fromkeys(r["link"] for r in rows):
            by_n = {r["machines"]: r for r in rows if r["link"] == link}
            cells = " | ".join(f"{by_n[n]['efficiency_p1']:.2f} / {by_n[n]['efficiency_ring']:.2f}" for n in machines)
            lines.append(f"| {H} | {shape['n_params']:,} | {costmodel.buffer_bytes(shape['n_params']) / 1e6:.2f} | {link} | {cells} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shapes", type=int, nargs="+", default=[256, 1024], help="hidden sizes H (256 1024)")
    p.add_argument("--cell", default="elman", choices=["elman", "lstm", "gru"])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=50)
    p.add_argument("--steps", type=int, default=10, help="timed steps per process (10)")
    p.add_argument("--repeats", type=int, default=3, help="processes per configuration (3); the median is kept")
    p.add_argument("--text", default=str(TEXT))
    p.add_argument("--out", default=None, help="result file (default benchmarks/results/distributed-<time>.json)")
    p.add_argument("--report", metavar="RESULT", help="print the tables of a result file (markdown) and stop")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--pattern", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--hidden", type=int, default=256, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.report:
        print(report(json.loads(Path(a.report).read_text())))
        return
    if a.worker:
        r = worker(a.hidden, a.cell, a.batch, a.seq_len, a.steps, a.text)
        if r is not None:
            print(json.dumps(r))
        return
    sizes = [8 * 4**k for k in range(12)]  # 8 B … 32 MiB
    if a.pattern:
        r = pattern(sizes, a.repeats)
        if r is not None:
            print(json.dumps(r))
        return

    result = {**machine.provenance("distributed.py", sys.argv[1:] if argv is None else argv),
              "loadavg_before": machine.loadavg(), "cell": a.cell, "batch": a.batch, "seq_len": a.seq_len,
              "steps": a.steps, "repeats": a.repeats, "shapes": {}}
    for H in a.shapes:
        rows = {}
        for name, ranks, threads in CONFIGS:
            runs = [_run(["--worker", "--hidden", str(H), "--cell", a.cell, "--batch", str(a.batch), "--seq-len",
                          str(a.seq_len), "--steps", str(a.steps), "--text", a.text], ranks, threads)
                    for _ in range(a.repeats)]
            runs.sort(key=lambda r: r["step_s"])
            rows[name] = {**runs[len(runs) // 2], "all_step_s": [r["step_s"] for r in runs]}
            print(f"H={H} {name}: {rows[name]['sequences_per_s']:.1f} sequences/s "
                  f"(step {1e3 * rows[name]['step_s']:.1f} ms, in the reduction {1e3 * rows[name]['comm_s_per_step']:.2f} ms)",
                  flush=True)
        base = rows[CONFIGS[0][0]]["sequences_per_s"]
        for name in rows:
            rows[name]["speedup_vs_1x1"] = rows[name]["sequences_per_s"] / base
        two = rows["2 ranks × 1 thread"]
        result["shapes"][H] = {"configs": rows, "scaling_efficiency_2_ranks": two["sequences_per_s"] / (2 * base),
                               "n_params": two["n_params"]}
    loop = _run(["--pattern", "--repeats", str(max(5, a.repeats * 3))], 2, 1)
    big = [(s, t) for s, t in zip(loop["sizes_bytes"], loop["seconds"])]
    alpha, beta = costmodel.fit_alpha_beta(*zip(*big))
    result["loopback"] = {**loop, "alpha_s": alpha, "beta_s_per_byte": beta, "bandwidth_bytes_per_s": 1 / beta}
    print(f"loopback P1 over 2 ranks: α = {alpha * 1e6:.1f} µs, 1/β = {1 / beta / 1e9:.2f} GB/s", flush=True)
    for H, shape in result["shapes"].items():
        compute = shape["configs"][CONFIGS[0][0]]["step_s"]  # one machine's step of `batch` sequences
        shape["prediction"] = costmodel.predict(compute, shape["n_params"])
        shape["prediction_loopback"] = costmodel.predict(compute, shape["n_params"],
                                                         links={"loopback (measured)": (alpha, 1 / beta)})
    result["loadavg_after"] = machine.loadavg()
    out = Path(a.out) if a.out else HERE / "results" / f"distributed-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
