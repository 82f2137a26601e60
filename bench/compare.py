"""HEAD against another commit on the hot benchmarks, alternated in one run (issue 16, point 5).

    .venv/bin/python bench/compare.py REV                       # set_admin_action + place_order, SQLite
    .venv/bin/python bench/compare.py 54813ef --benchmarks set_admin_action --pairs 5
    .venv/bin/python bench/compare.py main --engines sqlite postgresql --duration 10

REV is checked out in a temporary worktree (`git worktree add --detach`), this checkout's virtualenv
linked into it, and removed at the end. Each side runs its own `bench/<name>.py` with
`PYTHONPATH=<side>/src`, so the server, the seeding and the bare app are each side's own code. For
`--pairs` pairs (3) the two sides run one after the other, the order swapped at every pair
(HEAD, REV, then REV, HEAD, ...) so that a drift of the machine's load favours neither. An option
the REV side's script does not know is not passed to it (its default applies) and a benchmark REV
lacks is skipped: both are said in the output.

For each benchmark and target (`autoliq-sqlite`, `sqlite-fill`, ...) it prints the medians over the
pairs of each side's server CPU µs per request (`targets[T]["measured"]["server_cpu_us_per_request"]`
of the JSON each run writes), requests/s and p99, their ratio HEAD/REV (below 1: HEAD is cheaper or
faster), and each side's ratio to its own bare app of the same run (`bare` target: req/s of the
target / req/s of bare; a ratio of ratios cancels the machine's speed in that run). The figures and
every run's are written to bench/results/compare-<time>.json.

Run time: each run is roughly, per target, `--warmup` + `--duration` seconds plus the server's
start and seeding (~5-10 s), plus the bare app's target; with the defaults (3 + 10 s, quiet wait off)
a `set_admin_action` SQLite run takes ~40 s, a `place_order` SQLite run (reject, fill) ~70 s:
3 pairs of both ~11 minutes; PostgreSQL adds about as much again. `--max-minutes` (60) stops
starting new runs past that time and reports the pairs completed. The machine-quiet waits and noisy
retries of the scripts are off by default (`--quiet-wait 0 --noisy-retries 0`): the alternation is
what makes the comparison fair on a shared machine; look at the `others` CPU each run reports.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
HEAD_DIR = BENCH_DIR.parent
BENCHMARKS = ("set_admin_action", "place_order")
RESULTS_LINE = re.compile(r"^results: (\S+\.json)\s*$", re.MULTILINE)


def git(*args: str, cwd: Path = HEAD_DIR) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.strip()


@contextlib.contextmanager
def rev_worktree(rev: str) -> Iterator[Path]:
    """REV checked out (detached) in a temporary worktree with this checkout's .venv linked; removed
    afterwards, whatever happens."""
    parent = Path(tempfile.mkdtemp(prefix="autoliq-compare-"))
    path = parent / "rev"
    git("worktree", "add", "--detach", str(path), rev)
    try:
        venv = HEAD_DIR / ".venv"
        if venv.exists():
            (path / ".venv").symlink_to(venv)
        yield path
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(path)],
            cwd=HEAD_DIR,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(parent, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=HEAD_DIR, capture_output=True, check=False)


def script_options(side: Path, name: str) -> set[str] | None:
    """The long options `<side>/bench/<name>.py --help` lists; None when the side has no such script."""
    script = side / "bench" / f"{name}.py"
    if not script.exists():
        return None
    env = {**os.environ, "PYTHONPATH": str(side / "src")}
    out = subprocess.run(
        [sys.executable, str(script), "--help"],
        cwd=side,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", out.stdout))


def bench_argv(name: str, args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """(option, value or None for a flag) as asked, before filtering by what a side knows."""
    wanted: list[tuple[str, str | None]] = [
        ("--duration", str(args.duration)),
        ("--warmup", str(args.warmup)),
        ("--connections", str(args.connections)),
        ("--quiet-wait", str(args.quiet_wait)),
        ("--noisy-retries", str(args.noisy_retries)),
        ("--no-install", None),
    ]
    if "sqlite" not in args.engines:
        wanted.append(("--no-sqlite", None))
    if "postgresql" not in args.engines:
        wanted.append(("--no-postgres", None))
    if name == "place_order" and args.cases:
        wanted.append(("--cases", " ".join(args.cases)))
    return wanted


def run_one(side: Path, label: str, name: str, options: set[str], args: argparse.Namespace) -> dict[str, Any]:
    """One run of `<side>/bench/<name>.py`; its JSON results (with `_log`: the run's output tail)."""
    argv = [sys.executable, str(side / "bench" / f"{name}.py")]
    for option, value in bench_argv(name, args):
        if option not in options:
            continue
        argv.append(option)
        if value is not None:
            argv.extend(value.split(" "))
    env = {**os.environ, "PYTHONPATH": str(side / "src")}
    began = time.monotonic()
    print(f"  {label:>4} {name} ...", end="", flush=True)
    out = subprocess.run(argv, cwd=side, env=env, capture_output=True, text=True, timeout=3600, check=False)
    found = RESULTS_LINE.findall(out.stdout)
    if not found:
        print(f" no results (exit {out.returncode})")
        return {"_error": f"exit {out.returncode}", "_log": (out.stdout + out.stderr)[-3000:]}
    path = Path(found[-1])
    path = path if path.is_absolute() else side / path
    results: dict[str, Any] = json.loads(path.read_text())
    results["_elapsed_s"] = round(time.monotonic() - began, 1)
    results["_exit"] = out.returncode
    figures = ", ".join(
        f"{target} {cpu_us(t):.0f} us/req"
        for target, t in results.get("targets", {}).items()
        if cpu_us(t) is not None
    )
    print(f" {results['_elapsed_s']:.0f} s: {figures}", flush=True)
    return results


def measured(target: dict[str, Any]) -> dict[str, Any] | None:
    m = target.get("measured") if isinstance(target, dict) else None
    return m if isinstance(m, dict) else None


def cpu_us(target: dict[str, Any]) -> float | None:
    m = measured(target)
    value = m.get("server_cpu_us_per_request") if m else None
    return float(value) if isinstance(value, int | float) else None


def figure(target: dict[str, Any], key: str) -> float | None:
    m = measured(target)
    value = m.get(key) if m else None
    return float(value) if isinstance(value, int | float) else None


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per target: each side's medians (µs/req, req/s, p99, req/s against its bare) and HEAD/REV."""
    names: list[str] = []
    for side_runs in runs.values():
        for run in side_runs:
            names += [n for n in run.get("targets", {}) if n not in names and n != "bare"]
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        row: dict[str, Any] = {}
        for side, side_runs in runs.items():
            targets = [run.get("targets", {}) for run in side_runs]
            row[side] = {
                "cpu_us": median([cpu_us(t.get(name, {})) for t in targets]),
                "cpu_us_runs": [cpu_us(t.get(name, {})) for t in targets],
                "rps": median([figure(t.get(name, {}), "rps") for t in targets]),
                "p99_ms": median([figure(t.get(name, {}), "p99_ms") for t in targets]),
                "rps_vs_bare": median(
                    [ratio(figure(t.get(name, {}), "rps"), figure(t.get("bare", {}), "rps")) for t in targets]
                ),
                "cpu_vs_bare": median(
                    [ratio(cpu_us(t.get(name, {})), cpu_us(t.get("bare", {}))) for t in targets]
                ),
                "others_cores": median([figure(t.get(name, {}), "others_cpu_cores") for t in targets]),
            }
        head, rev = row.get("HEAD", {}), row.get("REV", {})
        row["head_over_rev"] = {
            key: ratio(head.get(key), rev.get(key))
            for key in ("cpu_us", "rps", "p99_ms", "rps_vs_bare", "cpu_vs_bare")
        }
        out[name] = row
    return out


def print_summary(benchmark: str, rev: str, pairs: int, summary: dict[str, dict[str, Any]]) -> None:
    print(f"\n{benchmark}: medians of {pairs} pair(s), HEAD against {rev} (ratio HEAD/REV)")
    print(
        f"{'target':<22} {'us/req HEAD':>11} {'REV':>6} {'x':>5}   {'req/s HEAD':>10} {'REV':>6} {'x':>5}"
        f"   {'p99 HEAD':>8} {'REV':>6}   {'req/s vs bare HEAD':>18} {'REV':>5} {'x':>5}   {'others':>6}"
    )
    for name, row in summary.items():
        h, r, x = row.get("HEAD", {}), row.get("REV", {}), row["head_over_rev"]
        others = max(v for v in (h.get("others_cores"), r.get("others_cores"), 0.0) if v is not None)
        print(
            f"{name:<22} {fmt(h.get('cpu_us'), '.0f'):>11} {fmt(r.get('cpu_us'), '.0f'):>6} "
            f"{fmt(x['cpu_us'], '.2f'):>5}   {fmt(h.get('rps'), '.0f'):>10} {fmt(r.get('rps'), '.0f'):>6} "
            f"{fmt(x['rps'], '.2f'):>5}   "
            f"{fmt(h.get('p99_ms'), '.1f'):>8} {fmt(r.get('p99_ms'), '.1f'):>6}   "
            f"{fmt(h.get('rps_vs_bare'), '.3f'):>18} {fmt(r.get('rps_vs_bare'), '.3f'):>5} "
            f"{fmt(x['rps_vs_bare'], '.2f'):>5}   {others:>6.2f}"
        )
        print(
            f"{'':<22} us/req per run: HEAD {[round(v) for v in h.get('cpu_us_runs', []) if v]}, "
            f"REV {[round(v) for v in r.get('cpu_us_runs', []) if v]}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("rev", help="the commit (or branch, tag) to compare HEAD with")
    parser.add_argument("--pairs", type=int, default=3, help="HEAD/REV pairs per benchmark (3)")
    parser.add_argument("--benchmarks", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    parser.add_argument(
        "--engines", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite"], help="(sqlite)"
    )
    parser.add_argument("--cases", nargs="+", default=None, help="place_order's --cases (its default)")
    parser.add_argument("--duration", type=int, default=10, help="measured seconds per target (10)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per target (3)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--quiet-wait", type=int, default=0, help="passed to the scripts (0)")
    parser.add_argument("--noisy-retries", type=int, default=0, help="passed to the scripts (0)")
    parser.add_argument("--max-minutes", type=float, default=60.0, help="start no run after this (60)")
    args = parser.parse_args()
    if args.pairs < 1:
        parser.error("--pairs: at least 1")
    head = git("rev-parse", "--short", "HEAD")
    rev = git("rev-parse", "--short", f"{args.rev}^{{commit}}")
    if git("status", "--porcelain", "--", "src", "bench"):
        print("note: HEAD's src/ or bench/ has uncommitted changes; the HEAD side runs them")
    deadline = time.monotonic() + args.max_minutes * 60
    report: dict[str, Any] = {"head": head, "rev": rev, "params": vars(args), "benchmarks": {}}
    with rev_worktree(rev) as rev_dir:
        sides = {"HEAD": HEAD_DIR, "REV": rev_dir}
        for name in args.benchmarks:
            options = {label: script_options(path, name) for label, path in sides.items()}
            if options["REV"] is None or options["HEAD"] is None:
                missing = "REV" if options["REV"] is None else "HEAD"
                print(
                    f"{name}: {missing} ({rev if missing == 'REV' else head}) has no bench/{name}.py: skipped"
                )
                report["benchmarks"][name] = {"skipped": f"{missing} has no bench/{name}.py"}
                continue
            for label in sides:
                unknown = [o for o, _ in bench_argv(name, args) if o not in (options[label] or set())]
                if unknown:
                    print(
                        f"{name}: {label}'s script lacks {', '.join(unknown)}: "
                        "not passed (its default applies)"
                    )
            runs: dict[str, list[dict[str, Any]]] = {"HEAD": [], "REV": []}
            print(f"{name}: HEAD {head} against REV {rev}, {args.pairs} pair(s), engines {args.engines}")
            for pair in range(args.pairs):
                if time.monotonic() > deadline:
                    print(f"--max-minutes reached: {pair} pair(s) done")
                    break
                order = ("HEAD", "REV") if pair % 2 == 0 else ("REV", "HEAD")
                done = {}
                for label in order:
                    done[label] = run_one(sides[label], label, name, options[label] or set(), args)
                for label in sides:
                    runs[label].append(done[label])
            summary = summarize(runs)
            print_summary(name, rev, len(runs["HEAD"]), summary)
            report["benchmarks"][name] = {"summary": summary, "runs": runs}
    results_dir = BENCH_DIR / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"compare-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
