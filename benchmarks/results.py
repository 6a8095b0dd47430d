"""One command that reproduces docs/results.md: every row is an Experiment in EXPERIMENTS below.

For each experiment and seed the script runs ``python -m bptt train TASK ARGS --seed S --threads 1
--no-progress --out OUT/runs/NAME-seedS`` as a subprocess, one at a time, reads the figures from
that run's summary.json, and writes OUT/results.json (every run's figures, steps and wall time, the
command, the git commit and the machine: machine.provenance) and OUT/results.md (one row per
experiment: mean and range over the seeds, then each seed's value).

    python benchmarks/results.py                                  # everything, seeds 0-2: about 7 h 40 min
    python benchmarks/results.py --tasks addition,parity,sentiment,timeseries
    python benchmarks/results.py --tasks parity --seeds 0 --budget-scale 0.01   # smoke run, seconds
    python benchmarks/results.py --match airline --try "--window 24" --try "--hidden 8"   # settings to compare
    python benchmarks/results.py --compare runs/results-*/results.json   # their rows side by side
    python benchmarks/results.py --compare runs/results-x/results.json --tasks sentiment   # some of them

``--try ARGS`` adds, for each chosen experiment, a row with ARGS appended to its command (settings
to compare; rows are chosen on the validation figure, which every row shows). ``--match TEXT``
keeps the experiment named TEXT, or else those whose name contains TEXT.

``--budget-scale`` multiplies every experiment's --steps and --minutes (a smoke run; its figures
are not the documented ones). Data paths are relative to the repository root, where the runs start.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass

from machine import provenance

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))

from bptt import recipes  # noqa: E402
from bptt.files import atomic_write  # noqa: E402
from bptt.tasks import timeseries  # noqa: E402

DATA = "../shared/data"
SHAKESPEARE = f"{DATA}/tinyshakespeare.txt"
SUNSPOTS = f"{DATA}/timeseries/monthly-sunspots.csv"
AIRLINE = f"{DATA}/timeseries/airline-passengers.csv"


@dataclass(frozen=True)
class Figure:
    """One number of a run: ``key`` a dotted path into summary.json; ``kind`` "pct" (a fraction
    shown as %), or a format spec such as ".4f"."""
    label: str
    key: str
    kind: str = "pct"

    def show(self, value: float) -> str:
        return f"{100 * value:.1f}%" if self.kind == "pct" else format(value, self.kind)


@dataclass(frozen=True)
class Experiment:
    """A row of docs/results.md: ``bptt train TASK ARGS`` with its budget (``steps``, and
    ``minutes`` when it is a wall-time budget), the held-out ``figures`` and the same run's
    ``baselines``. ``season``: also score the seasonal-naive forecast with this period (a
    monthly series: 12), from the run's own data file and split."""
    name: str
    task: str
    args: tuple = ()
    steps: int = 0
    minutes: float | None = None
    figures: tuple = ()
    baselines: tuple = ()
    season: int | None = None

    def shown(self) -> tuple:
        """Every Figure of a run: the held-out figures, the validation one, the baselines."""
        return self.figures + (VALIDATION,) + self.compared()

    def compared(self) -> tuple:
        """The baselines of the same run, with the seasonal-naive one."""
        return self.baselines + ((SEASONAL,) if self.season else ())

    def slug(self) -> str:
        """The name as a folder name: lower-case letters and digits joined by '-'."""
        return re.sub("[^a-z0-9]+", "-", self.name.lower()).strip("-")

    def trying(self, extra: str) -> "Experiment":
        """This experiment with the arguments ``extra`` appended to its command."""
        return dataclasses.replace(self, name=f"{self.name} + {extra}", args=(*self.args, *shlex.split(extra)))

    def argv(self, scale: float) -> list[str]:
        """``TASK --steps N [--minutes M] ARGS``: the budget (× ``scale``) first, so that a tried
        ``--steps`` in ARGS replaces it (the last of a repeated option counts)."""
        budget = ["--steps", str(max(1, round(self.steps * scale)))]
        if self.minutes is not None:
            budget += ["--minutes", f"{self.minutes * scale:g}"]
        return [self.task, *budget, *self.args]


def _bits(task: str, cell: str, steps: int, figures: tuple) -> Experiment:
    args = () if cell == "elman" else ("--cell", cell)
    return Experiment(f"{task} ({cell})", task, args, steps, figures=figures)


ADDITION = (Figure("16-bit sums exact", "final.acc_16bit"), Figure("1000-bit sums exact", "final.acc_1000bit"))
PARITY = (Figure("1000-bit streams all right", "final.seq_acc"),)
VALIDATION = Figure("validation (best; the run's selection metric)", "best.value", ".4g")
CHARLM = (Figure("val nats/char", "final.val_loss", ".4f"),)
CHARLM_BASE = (Figure("unigram nats/char", "final.unigram_nats", ".4f"),)
SENTIMENT = (Figure("test accuracy", "final.test_acc"),)
BOW = (Figure("bag-of-words logreg", "final.baseline_bow_logreg_acc"), Figure("majority", "final.majority_acc"))
DATES = (Figure("exact match, held-out days", "final.test_acc"),)
RMSE = (Figure("test RMSE", "final.test_rmse", ".3f"),)
PERSISTENCE = (Figure("persistence RMSE", "final.persistence_rmse", ".3f"),)

EXPERIMENTS = (
    *(_bits("addition", cell, 6000, ADDITION) for cell in ("elman", "lstm", "gru")),
    *(_bits("parity", cell, 3000, PARITY) for cell in ("elman", "lstm", "gru")),
    Experiment("digits", "digits", (), 5000, figures=(Figure("numbers written exactly", "final.exact_acc"),)),
    Experiment("charlm, default, 10 min", "charlm", ("--text", SHAKESPEARE), 1_000_000, 10.0,
               CHARLM, CHARLM_BASE),
    Experiment("charlm, cosine 26000", "charlm", ("--text", SHAKESPEARE, "--schedule", "cosine"), 26000,
               figures=CHARLM, baselines=CHARLM_BASE),
    Experiment("charlm, GRU, cosine 20 min", "charlm", ("--text", SHAKESPEARE, "--cell", "gru", "--schedule", "cosine"),
               1_000_000, 20.0, CHARLM, CHARLM_BASE),
    Experiment("charlm, GRU 384, dropout 0.1, cosine 20 min", "charlm",
               ("--text", SHAKESPEARE, "--cell", "gru", "--hidden", "384", "--dropout", "0.1", "--schedule", "cosine"),
               1_000_000, 20.0, CHARLM, CHARLM_BASE),
    Experiment("charlm, GRU 384, dropout 0.25, cosine 20 min", "charlm",
               ("--text", SHAKESPEARE, "--cell", "gru", "--hidden", "384", "--dropout", "0.25", "--schedule", "cosine"),
               1_000_000, 20.0, CHARLM, CHARLM_BASE),
    Experiment("charlm, GRU 384, variational dropout 0.25, cosine 20 min", "charlm",
               ("--text", SHAKESPEARE, "--cell", "gru", "--hidden", "384", "--dropout", "0.25", "--variational",
                "--schedule", "cosine"),
               1_000_000, 20.0, CHARLM, CHARLM_BASE),
    Experiment("charlm, GRU 512, variational dropout 0.3, cosine 20 min", "charlm",
               ("--text", SHAKESPEARE, "--cell", "gru", "--hidden", "512", "--dropout", "0.3", "--variational",
                "--schedule", "cosine"),
               1_000_000, 20.0, CHARLM, CHARLM_BASE),
    Experiment("charlm, GRU 2x256, variational dropout 0.2, cosine 20 min", "charlm",
               ("--text", SHAKESPEARE, "--cell", "gru", "--layers", "2", "--dropout", "0.2", "--variational",
                "--schedule", "cosine"),
               1_000_000, 20.0, CHARLM, CHARLM_BASE),
    Experiment("sentiment", "sentiment", (), 3000, figures=SENTIMENT, baselines=BOW),
    Experiment("sentiment, Elman", "sentiment", ("--cell", "elman", "--lr", "1e-3"), 3000, figures=SENTIMENT,
               baselines=BOW),
    Experiment("temperatures", "timeseries", (), 3000, figures=RMSE, baselines=PERSISTENCE),
    Experiment("sunspots", "timeseries", ("--data", SUNSPOTS), 3000, figures=RMSE, baselines=PERSISTENCE),
    Experiment("airline", "timeseries", ("--data", AIRLINE), 3000, figures=RMSE, baselines=PERSISTENCE, season=12),
    Experiment("airline, differences", "timeseries", ("--data", AIRLINE, "--difference"), 3000,
               figures=RMSE, baselines=PERSISTENCE, season=12),
    Experiment("airline, differences, season 12", "timeseries", ("--data", AIRLINE, "--difference", "--season", "12"),
               3000, figures=RMSE, baselines=PERSISTENCE, season=12),
    Experiment("airline, differences, season 12, GRU", "timeseries",
               ("--data", AIRLINE, "--difference", "--season", "12", "--cell", "gru"), 3000, figures=RMSE,
               baselines=PERSISTENCE, season=12),
    Experiment("sunspots, differences", "timeseries", ("--data", SUNSPOTS, "--difference"), 3000,
               figures=RMSE, baselines=PERSISTENCE),
    Experiment("temperatures, differences", "timeseries", ("--difference",), 3000, figures=RMSE,
               baselines=PERSISTENCE),
    Experiment("dates", "dates", (), 6000, figures=DATES),
    Experiment("dates, Elman", "dates", ("--cell", "elman"), 24000, figures=DATES),
)
TASKS = tuple(dict.fromkeys(e.task for e in EXPERIMENTS))
SEASONAL = Figure("seasonal-naive RMSE", "seasonal_naive_rmse", ".3f")


def lookup(summary: dict, key: str) -> float:
    """The number at dotted ``key`` of a summary.json dict."""
    value = summary
    for part in key.split("."):
        value = value[part]
    return float(value)


def seasonal_naive_rmse(task_options: dict, period: int) -> float:
    """The seasonal-naive forecast's test RMSE (timeseries.OneStepForecast.seasonal_naive_rmse)
    with the data and split of the run's ``task_options``."""
    values = timeseries.load_csv(os.path.join(ROOT, task_options["data"]), task_options["column"])
    return timeseries.OneStepForecast(values, task_options["train_frac"]).seasonal_naive_rmse(period)


def run_one(exp: Experiment, seed: int, scale: float, runs_dir: str) -> dict:
    """Train ``exp`` with ``seed`` in a subprocess; its figures, or the error it ended with."""
    out = os.path.join(runs_dir, f"{exp.slug()}-seed{seed}")
    argv = [*exp.argv(scale), "--seed", str(seed), "--threads", "1", "--no-progress", "--out", out]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.path.join(ROOT, "src"),
                                                                     os.environ.get("PYTHONPATH")])))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bptt", "train", *argv], cwd=ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    record = {"seed": seed, "argv": ["bptt", "train", *argv], "run_dir": out,
              "process_s": round(time.perf_counter() - t0, 2)}
    if proc.returncode != 0:
        return record | {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else
                         f"exit status {proc.returncode}"}
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    values = {fig.key: seasonal_naive_rmse(summary["config"]["task"], exp.season) if fig is SEASONAL
              else lookup(summary, fig.key) for fig in exp.shown()}
    return record | {"values": values, "steps": summary["steps"], "wall_time_s": summary["wall_time_s"]}


def spread(values: list[float]) -> dict:
    return {"mean": sum(values) / len(values), "min": min(values), "max": max(values), "n": len(values)}


def cell(fig: Figure, runs: list[dict]) -> str:
    """``mean (min–max); seeds s, ...: value, ...`` of ``fig`` over the runs that finished (one
    value when every run gave the same, as a baseline does)."""
    got = [r for r in runs if "values" in r]
    if not got:
        return "failed"
    s = spread([r["values"][fig.key] for r in got])
    if s["min"] == s["max"] and len(got) > 1:
        return f"{fig.show(s['mean'])} (every run)"
    seeds = ", ".join(fig.show(r["values"][fig.key]) for r in got)
    rng = "" if len(got) == 1 else f" ({fig.show(s['min'])}–{fig.show(s['max'])})"
    return f"**{fig.show(s['mean'])}**{rng}; seeds {', '.join(str(r['seed']) for r in got)}: {seeds}"


def markdown(result: dict, experiments: list[Experiment]) -> str:
    """results.md: the provenance, then a row per experiment (``experiments``, in the order of
    ``result["experiments"]``)."""
    prov = result["provenance"]
    lines = [f"Command: `{prov['command']}`  ",
             f"git commit {prov['git_commit']}, CPU {prov['machine']['cpu'].get('model name')} "
             f"({prov['machine']['cpu']['logical_cpus']} logical), budget scale {result['budget_scale']}, "
             f"finished {result['finished']}", "",
             "| experiment | command (+ `--seed S --threads 1`) | held-out figure: mean (range); per seed "
             "| baseline, same runs | wall time, mean (range) | steps |",
             "| --- | --- | --- | --- | --- | --- |"]
    for exp, row in zip(experiments, result["experiments"]):
        runs = row["runs"]
        figs = "<br>".join(f"{f.label}: {cell(f, runs)}" for f in (*exp.figures, VALIDATION))
        base = "<br>".join(f"{f.label}: {cell(f, runs)}" for f in exp.compared()) or "—"
        got = [r for r in runs if "values" in r]
        wall = spread([r["wall_time_s"] for r in got]) if got else None
        wall_s = f"{wall['mean']:.1f} s ({wall['min']:.1f}–{wall['max']:.1f})" if wall else "—"
        steps = ", ".join(str(r["steps"]) for r in got) or "—"
        errors = "".join(f"<br>seed {r['seed']} failed: {r['error']}" for r in runs if "error" in r)
        lines.append(f"| {exp.name} | `{' '.join(['bptt train', *exp.argv(result['budget_scale'])])}` "
                     f"| {figs}{errors} | {base} | {wall_s} | {steps} |")
    return "\n".join(lines) + "\n"


def experiment(name: str, task: str) -> Experiment:
    """The Experiment of a result row's ``name`` ("BASE" or "BASE + ARGS" from --try), for its
    figures; a name results.py no longer has: the first experiment of ``task`` (a task's
    experiments share their figures)."""
    base, _, extra = name.partition(" + ")
    found = next((e for e in EXPERIMENTS if e.name == base), None)
    if found is None:
        found = next((e for e in EXPERIMENTS if e.task == task), None)
        if found is None:
            raise ValueError(f"no experiment of task {task!r} in results.py")
    return found.trying(extra) if extra else found


def compare(results: list[dict], tasks=None) -> str:
    """The settings of ``results`` side by side (markdown): per row, the command, the validation
    figure each run was selected on and the held-out figures, mean (range) over the seeds, the
    mean wall time and the commit (a command means what the task's defaults were there). A row
    (name and command) met again is pooled with the first when it ran at the same commit with
    other seeds (seeds run side by side), and else left out. A table per task, figures and
    seeds; only the rows of ``tasks`` (names; None: all)."""
    def mean_range(fig: Figure, runs: list[dict]) -> str:
        if any(fig.key not in r["values"] for r in runs):
            return "not recorded"  # a result file written before results.py recorded it
        s = spread([r["values"][fig.key] for r in runs])
        if s["min"] == s["max"]:
            return fig.show(s["mean"]) if len(runs) == 1 else f"{fig.show(s['mean'])} (every run)"
        return f"{fig.show(s['mean'])} ({fig.show(s['min'])}–{fig.show(s['max'])})"

    rows = {}  # (name, command) -> [command, commit, runs]
    for result in results:
        commit = result["provenance"]["git_commit"][:7]
        for row in result["experiments"]:
            key = (row["name"], tuple(row["command"]))
            if tasks is not None and row["command"][0] not in tasks:
                continue
            if key not in rows:
                rows[key] = [row["command"], commit, list(row["runs"])]
            elif rows[key][1] == commit and not {r["seed"] for r in row["runs"]} & {r["seed"] for r in rows[key][2]}:
                rows[key][2] = sorted(rows[key][2] + row["runs"], key=lambda r: r["seed"])
    lines, columns = [], None
    for (name, _), (command, commit, all_runs) in rows.items():
        runs, shown = [r for r in all_runs if "values" in r], f"`{shlex.join(['bptt', 'train', *command])}`"
        if not runs:
            lines.append(f"| {shown} | failed: {all_runs[0].get('error', 'no run')} |")
            continue
        exp = experiment(name, command[0])
        metric, mode = recipes.REGISTRY[exp.task].monitor
        validation = Figure("", VALIDATION.key, "pct" if metric.endswith("_acc") else VALIDATION.kind)
        if columns != (exp.task, exp.figures, tuple(r["seed"] for r in runs)):  # a new table
            columns = (exp.task, exp.figures, tuple(r["seed"] for r in runs))
            lines += [""] * bool(lines) + [
                f"| settings (+ `--seed S --threads 1`, S = {', '.join(str(r['seed']) for r in runs)}) "
                f"| validation {metric} ({mode}, selects) | {' | '.join(f.label for f in exp.figures)} "
                "| baselines, same runs | wall time | commit |", "| --- " * (5 + len(exp.figures)) + "|"]
        wall = spread([r["wall_time_s"] for r in runs])["mean"]
        lines.append(f"| {shown} | {mean_range(validation, runs)} | "
                     + " | ".join(mean_range(f, runs) for f in exp.figures)
                     + f" | {'; '.join(f'{f.label} {mean_range(f, runs)}' for f in exp.compared()) or '—'}"
                     f" | {wall:.1f} s | {commit} |")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="results.py", description=__doc__.split("\n")[0])
    p.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated, of {', '.join(TASKS)} (all)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (0,1,2)")
    p.add_argument("--budget-scale", type=float, default=1.0,
                   help="multiply every --steps and --minutes (1; e.g. 0.01 for a smoke run)")
    p.add_argument("--match", default="", help="only the experiment of this name, or else those whose name "
                                                 "contains this text")
    p.add_argument("--try", dest="tries", action="append", default=[], metavar="ARGS",
                   help='also run each experiment with ARGS appended (e.g. "--window 24"); repeatable')
    p.add_argument("--compare", nargs="+", metavar="RESULTS_JSON",
                   help="print the rows of result files side by side (markdown) and stop")
    p.add_argument("--out", default=None, help="output folder (runs/results-<time>); must not exist")
    args = p.parse_args(argv)
    args.tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in args.tasks if t not in TASKS]
    if unknown or not args.tasks:
        p.error(f"--tasks: expected names from {', '.join(TASKS)}, got {args.tasks or 'none'}")
    if args.compare:
        return args
    try:
        args.seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        p.error(f"--seeds: expected comma-separated integers, got {args.seeds!r}")
    if any(s < 0 for s in args.seeds) or len(set(args.seeds)) != len(args.seeds):
        p.error(f"--seeds: expected distinct non-negative integers, got {args.seeds}")
    if not (math.isfinite(args.budget_scale) and args.budget_scale > 0):
        p.error(f"--budget-scale: expected a positive number, got {args.budget_scale}")
    args.experiments = [e for e in EXPERIMENTS if e.task in args.tasks and args.match == e.name] or \
        [e for e in EXPERIMENTS if e.task in args.tasks and args.match in e.name]
    if not args.experiments:
        p.error(f"--match: no experiment of --tasks {','.join(args.tasks)} has {args.match!r} in its name")
    for extra in args.tries:
        try:
            if not shlex.split(extra):
                raise ValueError("no arguments")
        except ValueError as exc:
            p.error(f"--try: expected train arguments such as \"--window 24\", got {extra!r} ({exc})")
    args.experiments = [t for e in args.experiments for t in (e, *(e.trying(x) for x in args.tries))]
    slugs = [e.slug() for e in args.experiments]
    if len(set(slugs)) != len(slugs):
        p.error(f"--try: two rows would share a run folder: {sorted(s for s in slugs if slugs.count(s) > 1)[0]}")
    args.out = args.out or os.path.join(ROOT, "runs", time.strftime("results-%Y%m%d-%H%M%S"))
    if os.path.lexists(args.out):
        p.error(f"--out: {args.out} exists; pass a new folder (earlier results are never overwritten)")
    return args


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.compare:
        results = []
        for path in args.compare:
            try:
                with open(path, encoding="utf-8") as f:
                    results.append(json.load(f))
            except (OSError, ValueError) as exc:
                print(f"results.py: error: --compare: {path}: {exc}", file=sys.stderr)
                raise SystemExit(2) from None
        print(compare(results, args.tasks), end="")
        return {"compared": args.compare}
    runs_dir = os.path.join(args.out, "runs")
    os.makedirs(runs_dir)
    result = {"provenance": provenance("results.py", argv), "budget_scale": args.budget_scale,
              "seeds": args.seeds, "experiments": []}
    for exp in args.experiments:
        runs = []
        for seed in args.seeds:
            runs.append(run_one(exp, seed, args.budget_scale, runs_dir))
            print(f"{exp.name}, seed {seed}: {runs[-1].get('values', runs[-1].get('error'))}", flush=True)
        done = [r["values"] for r in runs if "values" in r]
        result["experiments"].append({"name": exp.name, "command": exp.argv(args.budget_scale), "runs": runs,
                                      "spread": {f.key: spread([v[f.key] for v in done]) for f in exp.shown()}
                                      if done else None})
    result["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    atomic_write(os.path.join(args.out, "results.json"), json.dumps(result, indent=1) + "\n")
    atomic_write(os.path.join(args.out, "results.md"), markdown(result, args.experiments))
    print(f"wrote {args.out}/results.json and results.md")
    return result


if __name__ == "__main__":
    sys.exit(1 if any("error" in r for e in main().get("experiments", ()) for r in e["runs"]) else 0)
