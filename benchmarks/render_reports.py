"""Benchmark: render the whole report suite from the sample warehouse, and check the size budget.

Also prints, per page, how many tables and table rows it carries (every row is in the page: long tables
are paged in the browser), and how long `tradeflow changes` takes to collect the latest arrival.

Usage: make bench  (refreshes the sample into a temporary folder first when needed)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tradeflow.report import render_reports
from tradeflow.report.changes import collect
from tradeflow.warehouse.db import connect

BUDGET_S, PAGE_MB = 15.0, 5.0


def main() -> int:
    home = Path(os.environ.get("TRADEFLOW_HOME") or tempfile.mkdtemp(prefix="tradeflow-bench-"))
    snapshot = home / "published" / "tradeflow.duckdb"
    if not snapshot.exists():
        env = {**os.environ, "TRADEFLOW_HOME": str(home), "TRADEFLOW_REPORTS_DIR": str(home / "reports")}
        subprocess.run([str(Path(sys.executable).parent / "tradeflow"), "refresh", "--source", "sample"], env=env, check=True)
    out = Path(tempfile.mkdtemp(prefix="tradeflow-reports-"))
    conn = connect(snapshot, read_only=True)
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        paths = render_reports(conn, out)
        timings.append(time.perf_counter() - start)
    sizes = {p.name: p.stat().st_size / 1e6 for p in paths}
    tables = {p.name: (p.read_text(encoding="utf-8").count('<table class="data sortable"'),
                       p.read_text(encoding="utf-8").count("<tr>")) for p in paths}
    start = time.perf_counter()
    found = collect(conn)
    changes_s = time.perf_counter() - start
    print(f"render suite: best {min(timings):.2f} s, worst {max(timings):.2f} s over 3 runs (budget {BUDGET_S} s)")
    print(f"  {'page':20s} {'size':>9s} {'tables':>7s} {'rows':>6s}")
    for name, mb in sizes.items():
        print(f"  {name:20s} {mb:6.2f} MB {tables[name][0]:7d} {tables[name][1]:6d}")
    print(f"  assets/plotly.min.js {(out / 'assets' / 'plotly.min.js').stat().st_size / 1e6:6.2f} MB (shared)")
    print(f"tradeflow changes (latest arrival): {changes_s:.2f} s, {len(found['new'])} new and "
          f"{len(found['revised'])} revised rows")
    ok = max(timings) < BUDGET_S and max(sizes.values()) < PAGE_MB
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
