"""Benchmark: `tradeflow refresh --source archive` against bare DuckDB and a naive pandas script, at scale.

For each size (millions of records) a raw archive in the real format is generated
(``benchmarks/scale.py``; cached under ``data/bench/<size>``), then three programs run, each
in its own child process, one after the other (wall, CPU = user + system, peak RSS from
``wait4``):

* **bare DuckDB** — one statement reading every archived gzip body with ``read_json`` into the
  normalised table (HS6, partner2 World, customs C00, newest vintage per reporter/freq/period);
* **naive pandas** — ``json.load`` each body, ``DataFrame``, filter, ``concat``, newest vintage;
* **tradeflow** — ``run_refresh("archive")`` (what ``tradeflow refresh --source archive`` runs:
  every asset, check, the snapshot and the reports), with each stage timed; then a **no-op**
  refresh (nothing new) and a refresh after **one period's revision** (one more body archived).

The three outputs must be identical — rows, distinct keys, and exact sums of value and net
weight (summed as integer thousandths, so order cannot change them) — or the benchmark fails.
Results: ``benchmarks/results/refresh_<size>M.json`` and the table ``benchmarks/results/refresh.md``.

    .venv/bin/python benchmarks/refresh_bench.py --sizes 0.1 1
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
DATA = ROOT / "data" / "bench"

#: The normalised table all three programs produce (the columns of staging.comtrade_flows they share).
SUMMARY_SQL = """
SELECT count(*) AS rows,
       count(DISTINCT (reporter_code, partner_code, flow, freq, year, month, hs6, mot_code)) AS keys,
       sum(round(value_usd * 1000)::HUGEINT)::VARCHAR AS value_thousandths,
       sum(round(net_weight_kg * 1000)::HUGEINT)::VARCHAR AS weight_thousandths
FROM {table}"""


def _entries(home: Path):
    from tradeflow.archive import RawArchive

    archive = RawArchive(home / "raw")
    return archive, archive.loadable("comtrade.final")


# --------------------------------------------------------------------------------------- children
def _before_check() -> dict:
    """The child's CPU seconds and peak RSS so far: its own output check (a count of distinct keys over every row,
    up to 2.5 GB at 20 M) must not count as the program's (a no-op refresh was reported at 2.56 GB, 0.34 GB alone)."""
    u = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_before_check_s": u.ru_utime + u.ru_stime, "peak_before_check_mb": round(u.ru_maxrss / 1024)}


#: The bare statement: every archived body read once with ``read_json`` into the normalised table.
BARE_SQL = """
CREATE TABLE flows AS
WITH f AS (SELECT unnest($files) AS path, unnest($vintages) AS vintage),
b AS (SELECT filename, unnest(data) AS r
      FROM read_json($paths, columns = $envelope, filename = true, format = 'auto',
                     maximum_object_size = $size)),
rec AS (SELECT f.vintage, unnest(b.r) FROM b JOIN f ON f.path = b.filename)
SELECT reporterCode AS reporter_code, partnerCode AS partner_code, flowCode AS flow, freqCode AS freq,
       refYear AS year, CASE WHEN freqCode = 'M' THEN refMonth END AS month, cmdCode AS hs6,
       motCode AS mot_code, primaryValue AS value_usd, netWgt AS net_weight_kg, vintage
FROM rec
WHERE aggrLevel = 6 AND partner2Code = 0 AND customsCode = 'C00'
QUALIFY vintage = max(vintage) OVER (PARTITION BY reporterCode, freqCode, period)"""


def bare_args(archive, entries) -> dict:
    """The bare statement's parameters for these manifest entries."""
    from tradeflow.warehouse.comtrade_load import TYPED_ENVELOPE, object_size_for

    return {"files": [str(archive.object_path(e.sha256)) for e in entries],
            "vintages": [e.release["vintage"] for e in entries],
            "paths": sorted({str(archive.object_path(e.sha256)) for e in entries}),
            "envelope": TYPED_ENVELOPE, "size": object_size_for(max(e.bytes for e in entries))}


def child_duckdb(home: Path) -> dict:
    import duckdb

    archive, entries = _entries(home)
    out = home.parent / f"{home.name}-bare.duckdb"
    out.unlink(missing_ok=True)
    conn = duckdb.connect(str(out))
    conn.execute(BARE_SQL, bare_args(archive, entries))
    before = _before_check()  # the output check is not part of the program's time, CPU or peak memory
    t0 = time.perf_counter()
    summary = conn.execute(SUMMARY_SQL.format(table="flows")).fetchone()
    conn.close()
    out.unlink()
    return {"summary": [str(x) for x in summary], "check_s": time.perf_counter() - t0, **before}


def child_pandas(home: Path) -> dict:
    import pandas as pd

    archive, entries = _entries(home)
    frames = []
    for e in entries:
        with gzip.open(archive.object_path(e.sha256), "rt", encoding="utf-8") as fh:
            doc = json.load(fh)
        df = pd.DataFrame(doc["data"])
        df = df[(df["aggrLevel"] == 6) & (df["partner2Code"] == 0) & (df["customsCode"] == "C00")]
        df = df.assign(vintage=e.release["vintage"])
        frames.append(df[["reporterCode", "partnerCode", "flowCode", "freqCode", "refYear", "refMonth", "period",
                          "cmdCode", "motCode", "primaryValue", "netWgt", "vintage"]])
    df = pd.concat(frames, ignore_index=True)
    newest = df.groupby(["reporterCode", "freqCode", "period"])["vintage"].transform("max")
    df = df[df["vintage"] == newest]
    before = _before_check()  # the output check is not part of the program's time, CPU or peak memory
    t0 = time.perf_counter()
    key = df[["reporterCode", "partnerCode", "flowCode", "freqCode", "refYear", "refMonth", "cmdCode", "motCode"]]
    summary = [len(df), len(key.drop_duplicates()),
               int((df["primaryValue"] * 1000).round().astype("int64").sum()),
               int((df["netWgt"] * 1000).round().astype("int64").sum())]
    return {"summary": [str(x) for x in summary], "check_s": time.perf_counter() - t0, **before}


STAGES = {  # (module, attribute) → stage name
    ("pipelines.assets.warehouse", "build_raw"): "raw load",
    ("tradeflow.quality", "grain_check"): "raw grain checks",
    ("tradeflow.quality", "_staging_gates"): "quality gates (inside dbt)",
    ("tradeflow.warehouse.build_state", "fingerprint"): "build fingerprint (is anything new?)",
    ("tradeflow.warehouse.dbt_project", "build"): "dbt build (staging, gates, marts, tests)",
    ("pipelines.assets.warehouse", "publish"): "snapshot publish",
    ("tradeflow.report", "render_snapshot"): "reports",
}


#: Stages timed inside another stage (not added again to the total).
NESTED = {"quality gates (inside dbt)"}


def child_tradeflow(home: Path) -> dict:
    import importlib

    timings: dict[str, float] = {}

    def timed(fn, stage):
        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                timings[stage] = round(timings.get(stage, 0) + time.perf_counter() - t0, 3)
        return wrapper

    from tradeflow.cli import _few_collections

    _few_collections()  # as `tradeflow refresh` runs: fewer garbage collections over the code location's objects
    for (mod, attr), stage in STAGES.items():
        m = importlib.import_module(mod)
        setattr(m, attr, timed(getattr(m, attr), stage))
    from pipelines.refresh import run_refresh

    gc.freeze()

    t0 = time.perf_counter()
    outcome = run_refresh("archive", home=str(home), reports_dir=str(home / "reports"))
    wall = time.perf_counter() - t0
    if not outcome.success:
        raise SystemExit(f"tradeflow refresh failed: {outcome.error} {outcome.failed_checks}")
    timings["dagster and the rest"] = round(wall - sum(v for k, v in timings.items() if k not in NESTED), 3)
    before = _before_check()  # the output check is not part of the program's time, CPU or peak memory
    t0 = time.perf_counter()
    import duckdb

    conn = duckdb.connect(str(home / "published" / "tradeflow.duckdb"), read_only=True)
    summary = conn.execute(SUMMARY_SQL.format(table="staging.comtrade_flows")).fetchone()
    conn.close()
    return {"summary": [str(x) for x in summary], "stages": timings, "refresh_s": wall,
            "warehouse_bytes": (home / "tradeflow.duckdb").stat().st_size,
            "archive_gz_bytes": sum(p.stat().st_size for p in (home / "raw" / "objects").resolve().rglob("*.gz")),
            "check_s": time.perf_counter() - t0, **before}


CHILDREN = {"duckdb": child_duckdb, "pandas": child_pandas, "tradeflow": child_tradeflow}


# --------------------------------------------------------------------------------------- parent
def child_env() -> dict[str, str]:
    """The children's environment: as an installed tool runs, with bytecode caches whatever the calling shell
    sets (PYTHONDONTWRITEBYTECODE). Measured: importing the code location takes 3.7 s either way — the project's
    own modules are small; the time is Dagster's, dbt's and pandas' imports, which have their caches."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def compile_project(python: str = sys.executable, root: Path = ROOT) -> None:
    """Write the bytecode caches of the project's own modules once, before any child is timed."""
    subprocess.run([python, "-m", "compileall", "-q", str(root / "src"), str(root / "pipelines")], check=True,
                   env=child_env(), stdout=subprocess.DEVNULL)


def _popen_wait4(args: list[str]) -> tuple[int, str, str, resource.struct_rusage]:
    import tempfile

    with tempfile.TemporaryFile("w+") as o, tempfile.TemporaryFile("w+") as e:
        proc = subprocess.Popen(args, stdout=o, stderr=e, text=True, cwd=ROOT, env=child_env())
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        o.seek(0)
        e.seek(0)
        return proc.returncode, o.read(), e.read(), usage


def measure(kind: str, home: Path) -> dict:
    t0 = time.perf_counter()
    code, out, err, usage = _popen_wait4([sys.executable, __file__, "--child", kind, str(home)])
    wall = time.perf_counter() - t0
    if code:
        lines = err.strip().splitlines()
        raise SystemExit(f"bench: {kind} on {home} failed: {lines[-1] if lines else code}")
    res = json.loads(out.strip().splitlines()[-1])
    # wall: process start to exit (imports included), less the output check each child times itself
    check = res.pop("check_s", 0.0)
    if "refresh_s" in res:  # before the refresh: interpreter start and imports (Dagster, dbt, the code location)
        res["stages"] = {"process start and imports": round(wall - check - res.pop("refresh_s"), 3), **res["stages"]}
    cpu = res.pop("cpu_before_check_s", usage.ru_utime + usage.ru_stime)
    res.update(wall_s=round(wall - check, 2), check_s=round(check, 2), cpu_s=round(cpu, 2),
               peak_rss_mb=res.pop("peak_before_check_mb", round(usage.ru_maxrss / 1024)))
    return res


def prepare(size_m: float, data: Path) -> tuple[Path, dict]:
    """The generated archive for ``size_m`` million records (generated once, then reused), in a fresh home."""
    sys.path.insert(0, str(HERE))
    from scale import VERSION, generate

    src = data / f"{size_m:g}M"
    meta = src / "scale.json"
    if not meta.exists() or json.loads(meta.read_text()).get("version") != VERSION:
        shutil.rmtree(src, ignore_errors=True)
        info = generate(src, int(size_m * 1_000_000))
        meta.write_text(json.dumps(info))
    home = data / f"{size_m:g}M-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "raw").mkdir()
    (home / "raw" / "objects").symlink_to((src / "raw" / "objects").resolve())
    shutil.copyfile(src / "raw" / "manifest.jsonl", home / "raw" / "manifest.jsonl")
    return home, json.loads(meta.read_text())


def revise_one_period(home: Path) -> None:
    """Archive one more vintage of one period (the first annual body), as a nightly fetch of a revision would."""
    sys.path.insert(0, str(HERE))
    from scale import _bodies, countries, hs_codes, RECORDS_PER_BODY, URL, body

    from tradeflow.archive import RawArchive

    archive = RawArchive(home / "raw")
    # the objects folder is shared with the cached archive: write the new body beside, in a private folder
    (home / "raw" / "objects").unlink()
    shutil.copytree((home.parent / home.name.replace("-home", "") / "raw" / "objects"), home / "raw" / "objects",
                    copy_function=os.link)
    freq, period, year, month, rep = _bodies(1)[0]
    raw = body(freq, period, year, month, rep, 9, hs_codes(), countries())
    params = {"cmdCode": "AG6", "customsCode": "C00", "flowCode": "M,X", "motCode": "0", "partner2Code": "0",
              "period": period, "reporterCode": str(rep[0])}
    archive.store(dataset="comtrade.final", source="live", url=URL.format(freq=freq), params=params, status=200,
                  body=raw, partition={"reporter": rep[0], "freq": freq, "period": period},
                  release={"vintage": "2026-11-01", "rows": RECORDS_PER_BODY}, fetched_at="2026-11-01T00:00:00Z")


def bench(size_m: float, data: Path, pandas_max: float, incremental: bool = True) -> dict:
    home, info = prepare(size_m, data)
    print(f"[{size_m:g} M] archive: {info['records']:,} records in {info['bodies']} bodies "
          f"({info['json_bytes'] / 1e9:.2f} GB of JSON)", flush=True)
    runs = {"duckdb": measure("duckdb", home)}
    print(f"[{size_m:g} M] bare DuckDB {runs['duckdb']['wall_s']} s", flush=True)
    if size_m <= pandas_max:
        runs["pandas"] = measure("pandas", home)
        print(f"[{size_m:g} M] naive pandas {runs['pandas']['wall_s']} s", flush=True)
    runs["tradeflow"] = measure("tradeflow", home)
    print(f"[{size_m:g} M] tradeflow refresh {runs['tradeflow']['wall_s']} s {runs['tradeflow']['stages']}", flush=True)
    summaries = {k: tuple(v["summary"]) for k, v in runs.items()}
    if len(set(summaries.values())) != 1:
        raise SystemExit(f"bench: outputs differ at {size_m:g} M: {summaries}")
    if incremental:
        runs["tradeflow_noop"] = measure("tradeflow", home)
        print(f"[{size_m:g} M] no-op refresh {runs['tradeflow_noop']['wall_s']} s", flush=True)
        revise_one_period(home)
        runs["tradeflow_one_revision"] = measure("tradeflow", home)
        print(f"[{size_m:g} M] refresh after one period's revision {runs['tradeflow_one_revision']['wall_s']} s",
              flush=True)
    shutil.rmtree(home, ignore_errors=True)
    import duckdb

    result = {
        "benchmark": "refresh", "size_m": size_m, **info, "runs": runs,
        "identical_output": {"rows": int(runs["duckdb"]["summary"][0]), "keys": int(runs["duckdb"]["summary"][1]),
                             "value_thousandths": runs["duckdb"]["summary"][2],
                             "weight_thousandths": runs["duckdb"]["summary"][3]},
        "python": platform.python_version(), "duckdb": duckdb.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cpu (shared)",
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return result


def table(results: list[dict]) -> str:
    lines = [
        "| records | program | wall s | CPU s | peak RSS MB | ÷ bare DuckDB | pandas ÷ this | stages (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(results, key=lambda r: r["size_m"]):
        duck = r["runs"]["duckdb"]["wall_s"]
        pandas = r["runs"].get("pandas", {}).get("wall_s")
        for kind, run in r["runs"].items():
            vs_pandas = f"{pandas / run['wall_s']:.2f}" if pandas else "–"
            stages = ", ".join(f"{k} {v:g}" for k, v in run.get("stages", {}).items())
            lines.append(f"| {r['records'] / 1e6:g} M | {kind.replace('_', ' ')} | {run['wall_s']:g} | {run['cpu_s']:g} | "
                         f"{run['peak_rss_mb']:,} | {run['wall_s'] / duck:.2f} | "
                         f"{vs_pandas} | {stages} |")
    return "\n".join(lines)


def summary(results: list[dict]) -> str:
    """One line per size: the README's table."""
    lines = ["| records | tradeflow refresh | bare DuckDB | naive pandas | ÷ DuckDB | pandas ÷ tradeflow | peak RSS "
             "| no-op refresh | after one period's revision |", "|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(results, key=lambda r: r["size_m"]):
        run = r["runs"]
        t, d, p = run["tradeflow"]["wall_s"], run["duckdb"]["wall_s"], run.get("pandas", {}).get("wall_s")
        noop, rev = run.get("tradeflow_noop", {}).get("wall_s"), run.get("tradeflow_one_revision", {}).get("wall_s")
        lines.append(f"| {r['records'] / 1e6:g} M | {t:.1f} s | {d:.1f} s | {f'{p:.1f} s' if p else '–'} | {t / d:.2f}× | "
                     f"{f'{p / t:.2f}×' if p else '–'} | {run['tradeflow']['peak_rss_mb'] / 1024:.2f} GB | "
                     f"{f'{noop:.1f} s' if noop else '–'} | {f'{rev:.1f} s ({rev / t:.0%})' if rev else '–'} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[0.1, 1], help="millions of records, e.g. 0.1 1 5 20")
    ap.add_argument("--data", type=Path, default=DATA, help="where generated archives are cached")
    ap.add_argument("--pandas-max", type=float, default=5, help="skip the pandas baseline above this size (M)")
    ap.add_argument("--no-incremental", action="store_true", help="skip the no-op and one-revision refreshes")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "HOME"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, home = args.child
        print(json.dumps(CHILDREN[kind](Path(home))))
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    compile_project()
    for size in args.sizes:
        r = bench(size, args.data, args.pandas_max, not args.no_incremental)
        (RESULTS / f"refresh_{size:g}M.json").write_text(json.dumps(r, indent=2) + "\n")
    results = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("refresh_*M.json"))]
    md = ("# Refresh benchmark\n\nGenerated by `make bench` (`benchmarks/refresh_bench.py`); each row one child "
          "process, sizes run one after another on a shared 2-core box (ratios within one size are the comparable "
          "numbers). Identical output checked: rows, keys and exact sums. Children run with the project's bytecode caches, as an "
          "installed tool does.\n\n" + summary(results) + "\n\n"
          "Per program and stage:\n\n" + table(results) + "\n")
    (RESULTS / "refresh.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
