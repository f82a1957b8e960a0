"""Benchmark: `tradeflow export --format xlsx` of every marts table on the sample (issue 15's budget).

Runs the real CLI in a child process (a fresh interpreter, as a user would), records wall time,
the child's peak RSS and the rows per sheet, and writes benchmarks/results/export_xlsx.json.
Budget: under 60 s and 500 MB on the sample; exits 1 when over.

Usage: make bench  (refreshes the sample into a temporary folder first when needed)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_S, BUDGET_MB = 60.0, 500.0
RESULTS = Path(__file__).parent / "results" / "export_xlsx.json"


def main() -> int:
    exe = str(Path(sys.executable).parent / "tradeflow")
    home = Path(os.environ.get("TRADEFLOW_HOME") or tempfile.mkdtemp(prefix="tradeflow-bench-"))
    env = {**os.environ, "TRADEFLOW_HOME": str(home), "TRADEFLOW_REPORTS_DIR": str(home / "reports")}
    if not (home / "published" / "tradeflow.duckdb").exists():
        subprocess.run([exe, "refresh", "--source", "sample"], env=env, check=True, capture_output=True)
    out = Path(tempfile.mkdtemp(prefix="tradeflow-export-"))
    log = out / "export.log"
    start = time.perf_counter()
    with open(log, "w+", encoding="utf-8") as fh:
        proc = subprocess.Popen([exe, "export", "--format", "xlsx", "--output", str(out)], env=env,
                                stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS (not the refresh's)
        wall = time.perf_counter() - start
        fh.seek(0)
        output = fh.read().strip()
    if os.waitstatus_to_exitcode(status) != 0:
        print(output, file=sys.stderr)
        return 1
    peak_mb = usage.ru_maxrss / 1024  # Linux reports KiB
    files = sorted(out.glob("*.xlsx"))
    result = {
        "what": "tradeflow export --format xlsx, every marts table, sample warehouse",
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(peak_mb, 1),
        "files": {p.name: p.stat().st_size for p in files},
        "cli_output": output.splitlines(),
        "budget": {"wall_s": BUDGET_S, "peak_rss_mb": BUDGET_MB},
        "cpus": os.cpu_count(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"xlsx export of every mart: {wall:.1f} s, peak RSS {peak_mb:.0f} MB "
          f"(budget {BUDGET_S:.0f} s, {BUDGET_MB:.0f} MB) → {RESULTS}")
    for line in result["cli_output"]:
        print("  " + line)
    return 0 if wall <= BUDGET_S and peak_mb <= BUDGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
