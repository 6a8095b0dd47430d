"""Time one full training step of the same RNN in bptt, PyTorch CPU and JAX CPU.

    python benchmarks/step.py                  # the full grid (several minutes), Elman cell
    python benchmarks/step.py --quick          # smoke run: two small shapes, short visits
    python benchmarks/step.py --shapes large,words_ids --update
    python benchmarks/step.py --cell lstm      # the same grid with LSTM cells (or gru)

--cell elman (default) | lstm | gru: bptt ``RNN(cell=...)``, torch ``nn.RNN`` / ``nn.LSTM`` /
``nn.GRU`` (+ ``nn.Linear``), JAX's ``lax.scan`` with the same equations (impl_*.py).

A step is forward, loss, backward and every gradient (plus an SGD update with --update), on
the same float32 weights and batch (shapes.py). Before any timing, each implementation's loss
and gradients are checked against torch's (relative L2 error per parameter ≤ --tol).

Processes: for each shape, two timing processes are started, with torch at 1 and at 2 threads
(changing torch's thread count inside one process shifts timings); in each, bptt, torch and
JAX run interleaved in visits (timing.py). The row reports the process in which torch was
faster, and its bptt/torch and bptt/jax ratios come from that one process. Peak memory is
measured in a fresh process per implementation (memory.py). The machine's float32 GEMM
ceiling is measured in the parent at the start of the run.

Output: a JSON file in benchmarks/results/ and a Markdown table on stdout.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import machine  # noqa: E402
from shapes import BY_NAME, CELLS, LEARNING_RATE, make_data, make_weights, param_names, step_flops  # noqa: E402

IMPLS = ("bptt", "torch", "jax")
QUICK_SHAPES = "tiny,char128"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# workers (run in child processes)
# ---------------------------------------------------------------------------------------
def _setup_torch_threads(n: int) -> None:
    import torch
    torch.set_num_threads(n)


def _make(impl: str, shape, weights, x, y, args):
    kw = {"update": args.update, "lr": LEARNING_RATE, "cell": args.cell}
    if impl == "torch":
        import impl_torch as mod
        kw["ids_mode"] = args.torch_ids
    elif impl == "jax":
        import impl_jax as mod
    else:
        import impl_bptt as mod
    return mod.make(shape, weights, x, y, **kw)


def bptt_available() -> str | None:
    """None if `bptt.RNN` can be imported, else the reason."""
    try:
        import bptt
        bptt.RNN  # noqa: B018
        return None
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"


def check_grads(ref: tuple, got: tuple, tol: float, cell: str = "elman") -> dict:
    (loss_r, g_r), (loss_g, g_g) = ref, got
    errs = {}
    for k in param_names(cell):
        if k not in g_g or k not in g_r:
            errs[k] = float("inf")
            continue
        a, b = np.asarray(g_g[k], np.float64), np.asarray(g_r[k], np.float64)
        if a.shape != b.shape:
            errs[k] = float("inf")
            continue
        errs[k] = float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))
    loss_err = abs(loss_g - loss_r) / max(abs(loss_r), 1e-30)
    ok = all(e <= tol for e in errs.values()) and loss_err <= tol
    return {"ok": bool(ok), "loss": loss_g, "loss_rel_err": loss_err, "grad_rel_err": errs}


def worker_time(args) -> dict:
    _setup_torch_threads(args.torch_threads)
    import impl_torch
    from timing import run_visits

    shape = BY_NAME[args.shape]
    weights, (x, y) = make_weights(shape, cell=args.cell), make_data(shape)
    impls = [i for i in args.impls.split(",") if i]
    out = {"torch_threads": args.torch_threads, "impls": {}, "loadavg_start": machine.loadavg()}
    if "bptt" in impls and (why := bptt_available()):
        out["bptt_unavailable"] = why
        impls.remove("bptt")
    objs = {name: _make(name, shape, weights, x, y, args) for name in impls}

    # correctness first: every implementation against torch, on the initial weights
    ref = objs["torch"].loss_and_grads() if "torch" in objs else None
    steps = {}
    for name, obj in objs.items():
        rec = out["impls"][name] = {"compile_seconds": obj.compile_seconds}
        if ref is not None and name != "torch":
            rec["check"] = check_grads(ref, obj.loss_and_grads(), args.tol, args.cell)
            if not rec["check"]["ok"]:
                log(f"  {name}: gradient check FAILED {rec['check']}; not timed")
                continue
        steps[name] = obj.step
    if ref is not None:
        out["impls"]["torch"]["loss"] = ref[0]

    res = run_visits(steps, rounds=args.rounds, warm_seconds=args.warm, timed_seconds=args.timed,
                     log=log if args.verbose else None)
    for name, r in res.items():
        out["impls"][name].update(r)
    out["loadavg_end"] = machine.loadavg()
    out["torch_gemm_gflops"] = impl_torch.gemm_gflops()
    return out


def worker_memory(args) -> dict:
    if args.impls == "torch":  # keep the other processes free of torch
        _setup_torch_threads(args.torch_threads)
    from memory import measure_step_memory

    shape = BY_NAME[args.shape]
    weights, (x, y) = make_weights(shape, cell=args.cell), make_data(shape)
    obj = _make(args.impls, shape, weights, x, y, args)
    del weights
    return measure_step_memory(obj.step)


# ---------------------------------------------------------------------------------------
# the parent: orchestrate, collect, report
# ---------------------------------------------------------------------------------------
def run_worker(kind: str, args, **over) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind,
           "--rounds", str(args.rounds), "--warm", str(args.warm), "--timed", str(args.timed),
           "--tol", str(args.tol), "--torch-ids", args.torch_ids, "--cell", args.cell]
    if args.update:
        cmd.append("--update")
    if args.verbose:
        cmd.append("--verbose")
    for k, v in over.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    env = dict(os.environ)
    if args.blas_threads:  # OpenBLAS reads it at load time; only NumPy (so bptt) uses OpenBLAS
        env["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
    if p.returncode != 0:
        return {"error": f"worker exited {p.returncode}: {' '.join(cmd)}"}
    return json.loads(p.stdout.strip().splitlines()[-1])


def bench_shape(shape, args, ceiling: float) -> dict:
    flops = step_flops(shape, args.cell)
    row = {"shape": shape.asdict(), "label": shape.label(), "flops_per_step": flops, "processes": {}}
    for threads in (1, 2):
        log(f"[{shape.name}] timing, torch threads={threads}")
        row["processes"][threads] = run_worker("time", args, shape=shape.name,
                                               torch_threads=threads, impls=args.impls)
    ok = {t: p for t, p in row["processes"].items()
          if "error" not in p and "median_s" in p["impls"].get("torch", {})}
    if ok:
        best = min(ok, key=lambda t: ok[t]["impls"]["torch"]["median_s"])
    else:
        best = next((t for t, p in row["processes"].items() if "error" not in p), None)
    row["torch_threads"] = best
    chosen = row["processes"].get(best, {}).get("impls", {})
    row["results"] = {}
    for name, r in chosen.items():
        if "median_s" not in r:
            row["results"][name] = {"check": r.get("check")}
            continue
        gf = flops / r["median_s"] / 1e9
        row["results"][name] = {"ms": 1e3 * r["median_s"], "gflops": gf,
                                "ceiling_fraction": gf / ceiling,
                                "compile_s": r.get("compile_seconds"), "check": r.get("check")}
    t = {k: v["ms"] for k, v in row["results"].items() if "ms" in v}
    if "bptt" in t:
        row["bptt_over_torch"] = t["bptt"] / t["torch"] if "torch" in t else None
        row["bptt_over_jax"] = t["bptt"] / t["jax"] if "jax" in t else None
    if not args.no_memory:
        row["memory"] = {}
        for name in chosen:
            log(f"[{shape.name}] memory, {name}")
            row["memory"][name] = run_worker("memory", args, shape=shape.name,
                                             torch_threads=best or 1, impls=name)
    return row


def fmt(v, spec, missing="–"):
    return missing if v is None else format(v, spec)


def markdown(result: dict) -> str:
    ceiling = result["gemm_ceiling"]["gflops"]
    lines = [
        f"command: {result['command']}",
        f"cell: {result['options'].get('cell', 'elman')}; git commit: {result.get('git_commit')}",
        f"CPU: {result['machine']['cpu'].get('model name')}; load average at start/end: "
        f"{result['machine']['loadavg_start']} / {result['machine'].get('loadavg_end')}",
        f"float32 GEMM ceiling (NumPy/OpenBLAS, 2048³, best of 5, best of 1 and 2 threads): "
        f"{ceiling:.0f} GFLOP/s",
        "",
        "| shape | bptt ms | torch ms (threads) | jax ms (compile s) | bptt/torch | bptt/jax "
        "| GFLOP/s (% ceiling) bptt · torch · jax | peak MB bptt · torch · jax |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for row in result["rows"]:
        r = row["results"]
        g = lambda n, k: r.get(n, {}).get(k)  # noqa: E731
        gf = " · ".join(f"{fmt(g(n, 'gflops'), '.1f')} ({fmt(g(n, 'ceiling_fraction') and 100 * g(n, 'ceiling_fraction'), '.0f')}%)"
                        for n in IMPLS)
        mem = row.get("memory", {})
        mb = " · ".join(fmt(mem.get(n, {}).get("peak_mb"), ".1f") for n in IMPLS)
        lines.append(
            f"| {row['label']} | {fmt(g('bptt', 'ms'), '.2f')} "
            f"| {fmt(g('torch', 'ms'), '.2f')} ({row.get('torch_threads')}) "
            f"| {fmt(g('jax', 'ms'), '.2f')} ({fmt(g('jax', 'compile_s'), '.1f')}) "
            f"| {fmt(row.get('bptt_over_torch'), '.2f')} | {fmt(row.get('bptt_over_jax'), '.2f')} "
            f"| {gf} | {mb} |")
        for n in IMPLS:
            chk = r.get(n, {}).get("check")
            if chk and not chk["ok"]:
                lines.append(f"|   ↳ {n} gradient check FAILED: {chk['grad_rel_err']} | | | | | | | |")
    lines += ["", "Targets: " + "; ".join(targets(result))]
    return "\n".join(lines)


def target_limits(cell: str, shape: dict) -> tuple[float, float]:
    """(bptt/torch, bptt/jax) targets: issue 4's for Elman (0.33×, 0.6×); issue 14's for the
    gated cells (≤ 1.0× torch, ≤ 0.5× at B = 1; ≤ 1.0× JAX)."""
    if cell == "elman":
        return 0.33, 0.6
    return (0.5 if shape["B"] == 1 else 1.0), 1.0


def targets(result: dict) -> list[str]:
    out = []
    cell = result["options"].get("cell", "elman")
    rows = {r["shape"]["name"]: r for r in result["rows"]}
    for r in result["rows"]:
        name = r["shape"]["name"]
        res = r["results"]
        bits = []
        lim_t, lim_j = target_limits(cell, r["shape"])
        if r.get("bptt_over_torch") is not None:
            bits.append(f"torch {r['bptt_over_torch']:.2f}× (≤{lim_t}) {'ok' if r['bptt_over_torch'] <= lim_t else 'MISS'}")
        if r.get("bptt_over_jax") is not None:
            bits.append(f"jax {r['bptt_over_jax']:.2f}× (≤{lim_j}) {'ok' if r['bptt_over_jax'] <= lim_j else 'MISS'}")
        if cell == "elman" and r["shape"]["H"] >= 512 and "ceiling_fraction" in res.get("bptt", {}):
            f = res["bptt"]["ceiling_fraction"]
            bits.append(f"GEMM {100 * f:.0f}% {'ok' if f >= 0.9 else 'MISS'}")
        mem = r.get("memory", {})
        if "peak_mb" in mem.get("bptt", {}) and "peak_mb" in mem.get("torch", {}):
            ok = mem["bptt"]["peak_mb"] <= mem["torch"]["peak_mb"]
            bits.append(f"memory {'ok' if ok else 'MISS'}")
        if bits:
            out.append(f"{name}: " + ", ".join(bits))
    a, b = rows.get("words_ids"), rows.get("words_float")
    if a and b and "ms" in a["results"].get("bptt", {}) and "ms" in b["results"].get("bptt", {}):
        ra = a["results"]["bptt"]["ms"] / b["results"]["bptt"]["ms"]
        out.append(f"ids/float(D=H) time {ra:.2f} {'ok' if ra <= 1.0 else 'MISS'}")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: small shapes, short visits")
    ap.add_argument("--cell", choices=CELLS, default="elman",
                    help="the recurrent cell: bptt RNN(cell=...), torch nn.RNN/LSTM/GRU, JAX scan")
    ap.add_argument("--shapes", help=f"comma list from {', '.join(BY_NAME)} (default: all; "
                                     f"--quick: {QUICK_SHAPES})")
    ap.add_argument("--update", action="store_true", help="add the SGD update to the step")
    ap.add_argument("--impls", default=",".join(IMPLS))
    ap.add_argument("--rounds", type=int, help="visit rounds (default 5, --quick 2)")
    ap.add_argument("--warm", type=float, default=0.3, help="untimed seconds per visit (≥0.25)")
    ap.add_argument("--timed", type=float, help="timed seconds per visit (default 0.6, --quick 0.1)")
    ap.add_argument("--tol", type=float, default=1e-4, help="relative L2 gradient tolerance")
    ap.add_argument("--torch-ids", choices=("loop", "identity"), default="loop",
                    help="torch formulation for id inputs (see impl_torch.py)")
    ap.add_argument("--blas-threads", type=int, default=0,
                    help="OPENBLAS_NUM_THREADS for the worker processes (NumPy, so bptt); "
                         "0 = OpenBLAS's default (all cores). The GEMM ceiling is unaffected")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--out", help="JSON path (default benchmarks/results/step-<time>.json)")
    ap.add_argument("--verbose", action="store_true", help="log every visit")
    # internal: child processes
    ap.add_argument("--worker", choices=("time", "memory"), help=argparse.SUPPRESS)
    ap.add_argument("--shape", help=argparse.SUPPRESS)
    ap.add_argument("--torch-threads", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.rounds is None:
        args.rounds = 2 if args.quick else 5
    if args.timed is None:
        args.timed = 0.1 if args.quick else 0.6
    args.warm = max(args.warm, 0.25)

    if args.worker:
        res = worker_time(args) if args.worker == "time" else worker_memory(args)
        print(json.dumps(res))
        return 0

    names = (args.shapes or (QUICK_SHAPES if args.quick else ",".join(BY_NAME))).split(",")
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        ap.error(f"unknown shapes {unknown}; choose from {list(BY_NAME)}")
    started = time.time()
    result = {
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        **machine.provenance("step.py", sys.argv[1:]),  # command, git_commit, machine (CPU, cores, …)
        "options": {k: getattr(args, k) for k in ("cell", "quick", "update", "rounds", "warm", "timed",
                                                   "tol", "torch_ids", "impls",
                                                   "blas_threads")},
        "bptt_unavailable": bptt_available(),
    }
    result["machine"]["loadavg_start"] = machine.loadavg()
    log("GEMM ceiling ...")
    gemm = {"default_threads_start": machine.gemm_ceiling(),
            "1_thread": machine.gemm_ceiling_threads(1)}
    ceiling = max(g["gflops"] for g in gemm.values())
    log(f"  {ceiling:.0f} GFLOP/s")
    result["rows"] = [bench_shape(BY_NAME[n], args, ceiling) for n in names]
    gemm["default_threads_end"] = machine.gemm_ceiling()
    # the ceiling used for the fractions: the best NumPy rate seen before the shapes ran
    result["gemm_ceiling"] = {"gflops": ceiling, "runs": gemm}
    result["machine"]["loadavg_end"] = machine.loadavg()
    result["wall_seconds"] = time.time() - started

    out = Path(args.out) if args.out else HERE / "results" / (
        f"step-{'' if args.cell == 'elman' else args.cell + '-'}"
        f"{dt.datetime.now():%Y%m%d-%H%M%S}{'-quick' if args.quick else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1, default=str))
    os.replace(tmp, out)
    print(markdown(result))
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
