"""Benchmark: `tradeflow refresh --source sample` on a fresh TRADEFLOW_HOME (what `make demo` runs).

Runs the refresh of this checkout, and of any checkouts given with --compare (each with its own
.venv, e.g. a worktree of the commit before a change), in turn, --runs times each, and records wall
time and peak RSS per run, the medians and the ratio to the first --compare checkout in
benchmarks/results/sample_refresh.json. The budget (issue 14) is 20 s on this 2-core box.

Usage: make bench  (or: python benchmarks/sample_refresh.py --runs 5 --compare ../tradeflow-before)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 20.0


def one_run(checkout: Path) -> dict:
    home = Path(tempfile.mkdtemp(prefix="tradeflow-sample-bench-"))
    # as an installed tool runs: with bytecode caches (compiled once in main), whatever the calling shell says
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "TRADEFLOW_HOME": str(home / "home"), "TRADEFLOW_REPORTS_DIR": str(home / "reports"),
           "DAGSTER_HOME": str(home / "dagster")}
    cmd = [str(checkout / ".venv" / "bin" / "tradeflow"), "refresh", "--source", "sample"]
    # a fresh child per run: wait4 gives its own CPU time and peak RSS
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=checkout, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    shutil.rmtree(home, ignore_errors=True)
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "exit": code,
            "error": stderr.strip()[-300:] if code else None}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--compare", action="append", default=[], help="another checkout with its own .venv")
    args = ap.parse_args()
    checkouts = [ROOT, *[Path(c).resolve() for c in args.compare]]
    for c in checkouts:  # the project's own bytecode caches, written once before any run is timed
        subprocess.run([str(c / ".venv" / "bin" / "python"), "-m", "compileall", "-q", str(c / "src"), str(c / "pipelines")],
                       check=True, stdout=subprocess.DEVNULL)
    runs: dict[str, list[dict]] = {str(c): [] for c in checkouts}
    for _ in range(args.runs):
        for c in checkouts:  # interleaved: the same machine load for each
            runs[str(c)].append(one_run(c))
    out = {"budget_s": BUDGET_S, "runs": args.runs, "checkouts": {}}
    for c in checkouts:
        rs = runs[str(c)]
        commit = subprocess.run(["git", "-C", str(c), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
        out["checkouts"][commit or str(c)] = {
            "path": "this checkout" if c == ROOT else str(c), "median_wall_s": statistics.median(r["wall_s"] for r in rs),
            "median_cpu_s": statistics.median(r["cpu_s"] for r in rs),
            "median_peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in rs), "runs": rs}
    names = list(out["checkouts"])
    if len(names) > 1:
        base, this = out["checkouts"][names[1]], out["checkouts"][names[0]]
        out["ratio_to_" + names[1]] = {"wall": round(this["median_wall_s"] / base["median_wall_s"], 3),
                                        "peak_rss": round(this["median_peak_rss_mb"] / base["median_peak_rss_mb"], 3)}
    dest = ROOT / "benchmarks" / "results" / "sample_refresh.json"
    dest.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    for name, c in out["checkouts"].items():
        print(f"sample refresh {name} ({c['path']}): median {c['median_wall_s']} s wall, {c['median_cpu_s']} s CPU, "
              f"{c['median_peak_rss_mb']} MB peak over {args.runs} runs")
    for k, v in out.items():
        if k.startswith("ratio_to_"):
            print(f"{k}: wall ×{v['wall']}, peak RSS ×{v['peak_rss']}")
    failed = [r for c in out["checkouts"].values() for r in c["runs"] if r["exit"]]
    ok = out["checkouts"][names[0]]["median_wall_s"] <= BUDGET_S
    print("within budget" if ok else f"OVER BUDGET ({BUDGET_S} s)")
    return 0 if ok and not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
