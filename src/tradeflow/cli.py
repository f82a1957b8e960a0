"""The ``tradeflow`` command line.

Expected failures (bad input, a failed request, a failed check) exit non-zero with one line
saying what and where; only bugs show a traceback.
"""

from __future__ import annotations

import csv
import gc
import logging
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from tradeflow import strict_json
from tradeflow.errors import TradeflowError
from tradeflow.progress import FetchProgress, installed
from tradeflow.settings import Settings, parse_years

console = Console(stderr=True)


class _Group(click.Group):
    """Turn TradeflowError into a one-line message and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TradeflowError as exc:
            console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="tradeflow")
def main() -> None:
    """China–Pakistan trade analytics: refresh the warehouse, query it, render reports."""


@main.command()
@click.option("--source", type=click.Choice(["sample", "live", "archive"]), default="sample", show_default=True,
              help="sample: bundled synthetic data; live: UN Comtrade/WITS; archive: rebuild from stored responses.")
@click.option("--years", default="", help="Years to fetch, e.g. 2019-2022 (default: 2015 to the latest).")
@click.option("--select", default=None, metavar="SELECTION",
              help="Only these assets, as a Dagster asset selection, e.g. 'marts/trade_flows*' (it and everything "
              "downstream; '+' is one level). Sources run only when selected.")
@click.option("--force", is_flag=True, help="Rebuild staging and marts, publish and render even when nothing they "
              "read changed since the last build.")
@click.option("--verbose", is_flag=True, help="Show Dagster's own log.")
def refresh(source: str, years: str, select: str | None, force: bool, verbose: bool) -> None:
    """Materialise the asset graph in-process: fetch → warehouse → marts → snapshot → reports.

    Runs go through the Dagster instance in $DAGSTER_HOME (default $TRADEFLOW_HOME/dagster), so they
    show in the Dagster UI's run and asset history.
    """
    if years:
        parse_years(years)
    settings = Settings.from_env()
    settings.check_home(write=True)  # before the slow import of the code location
    settings.check_reports()  # and before any fetch: the reports are the last step
    log = logging.getLogger("tradeflow")
    log.setLevel(logging.INFO)
    log.addHandler(RichHandler(console=console, show_path=False, show_time=False))
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    _few_collections()
    from pipelines.refresh import run_refresh  # the code location; imported only for this command

    gc.freeze()  # what the import made lives as long as the process: out of every later collection

    started = time.monotonic()
    if console.is_terminal:
        with _fetch_progress(source) as fetch:
            outcome = run_refresh(source, years, quiet=not verbose, select=select, force=force)
        if fetch.planned:
            console.print(f"  fetched {fetch.done}/{fetch.planned} queries: {fetch.calls} calls, {fetch.bodies} bodies, "
                          f"{fetch.records:,} records", highlight=False)
    else:  # logs: no progress bar, no spinner
        outcome = run_refresh(source, years, quiet=not verbose, select=select, force=force)
    for key, meta in outcome.assets.items():
        summary = ", ".join(f"{k}={v}" for k, v in meta.items() if k in ("rows", "calls", "new_bodies", "pages", "skipped_unchanged"))
        console.print(f"  [green]✓[/] {escape(f'{key}  {summary}')}", highlight=False)
    for check in outcome.failed_checks:
        console.print("  [yellow]![/] " + escape(f"check {check['asset']}:{check['check']} failed ({check['severity']}): "
                      f"{check.get('failed_rows', '?')} row(s), e.g. {check.get('sample', [])[:3]}"), highlight=False)
    if outcome.unchanged:
        console.print("  [green]=[/] staging, marts, snapshot, reports  unchanged: nothing they read changed since "
                      "the last build (--force rebuilds)", highlight=False)
    if not outcome.success and outcome.published:
        raise TradeflowError(f"refresh incomplete (published what arrived): {outcome.error}")
    if not outcome.success:
        raise TradeflowError(f"refresh failed at {outcome.error}")
    console.print(f"Done in {time.monotonic() - started:.1f}s. Reports: {escape(str(settings.reports_dir / 'index.html'))}",
                  highlight=False)
    gc.freeze()  # nothing left worth collecting: skip the sweep at interpreter exit


def _few_collections() -> None:
    """Python's cyclic GC for a refresh: the code location (Dagster, dbt) brings ~10⁶ long-lived objects.

    At the default thresholds, full collections rescan them again and again during the import and
    the run, and once more at exit — ~2 s of a 14 s sample refresh (measured, benchmarks/sample_refresh.py).
    Collect young objects every 100,000 allocations instead of 700 (memory unchanged, measured).
    """
    gc.set_threshold(100_000, 50, 100)


@contextmanager
def _fetch_progress(source: str) -> Iterator[FetchProgress]:
    """A rich progress bar for long fetches (terminals only): planned vs done queries, calls, bodies, records, ETA."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("calls {task.fields[calls]} · bodies {task.fields[bodies]} · records {task.fields[records]:,}"),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"Refreshing from {source}", total=None, calls=0, bodies=0, records=0)

        def listen(p: FetchProgress) -> None:
            bar.update(task, total=p.planned or None, completed=p.done, calls=p.calls, bodies=p.bodies,
                       records=p.records, description=f"Fetching {p.label}" if p.label else f"Refreshing from {source}")

        with installed(FetchProgress(listener=listen)) as fetch:
            yield fetch


@main.command()
@click.option("--self-contained", is_flag=True, help="Inline plotly.js in every page (single files to email).")
def report(self_contained: bool) -> None:
    """Render the HTML reports from the published snapshot."""
    from tradeflow.report import render_snapshot

    from tradeflow import runlog

    settings = Settings.from_env()
    settings.check_home(write=False)
    settings.check_reports()
    runs = [r for r in runlog.runs(settings.home) if r.success]
    # stamped with the snapshot's build: the reports folder is shared by every home (TRADEFLOW_HOME)
    paths = render_snapshot(settings.snapshot, settings.reports_dir, self_contained=self_contained,
                            last_run=runs[-1].finished_at if runs else None)
    for p in paths:
        click.echo(str(p))


@main.command(context_settings={"ignore_unknown_options": True})  # a QUERY may begin with a "-- comment" line
@click.argument("query", required=False)
@click.option("--file", "-f", "file", type=click.File("r"), help="Read the query from a file (- for standard input).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="table: every value in full (numbers in the shortest exact digits, NULL as NULL; piped, as wide as "
              "needed); json: strict JSON (NULL, NaN and ±Infinity are null; DECIMALs exact).")
def sql(query: str | None, file, fmt: str) -> None:
    """Run one read-only SQL QUERY (or --file) against the latest published snapshot.

    Sandboxed by DuckDB itself: no file, URL, extension or setting can be touched (see README, "Data safety")."""
    from tradeflow.query import run_readonly

    if file is not None:
        query = file.read()
    if not query:
        raise TradeflowError("give a QUERY or --file PATH (e.g. tradeflow sql -f sql/examples/01_top_exports_each_way.sql)")

    settings = Settings.from_env()
    settings.check_home(write=False)
    columns, rows = run_readonly(settings, query)
    if fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(columns)
        w.writerows(rows)
    elif fmt == "json":
        click.echo(strict_json.dumps([dict(zip(columns, r)) for r in rows]))
    else:
        table = _table(*columns)
        for r in rows:
            table.add_row(*map(_cell, r))
        _out().print(table)


def _out() -> Console:
    """Standard output for tables. At a terminal, its width (a cell too wide is folded onto more lines, never cut);
    piped or redirected, as wide as the tables need (rich would squeeze them to 80 columns and cut values to '239,…')."""
    out = Console()
    return out if out.is_terminal else Console(width=1_000_000)


def _table(*headers: str, **kw) -> Table:
    """A table whose headers are plain text (never rich markup) and whose cells fold rather than being cut."""
    t = Table(**kw)
    for h in headers:
        t.add_column(Text(h), overflow="fold")
    return t


def _cell(v) -> Text:
    """A value in full as plain text: NULL apart from '', a number in the shortest digits that read back as the same
    number (grouped: 1,234.5; never rounded: a share of 0.0053 is not 0.01), text never read as markup ('[n.e.s.]')."""
    if v is None:
        return Text("NULL", style="dim")
    if isinstance(v, float | Decimal):
        return Text(f"{v:,}")
    return Text(str(v))


@main.command()
@click.option("--verify", is_flag=True, help="Also re-hash every archived object (same as `tradeflow verify`).")
def status(verify: bool) -> None:
    """What is loaded, data vintages, the last run and any failed checks."""
    from tradeflow.status import collect

    settings = Settings.from_env()
    settings.check_home(write=False)
    report = collect(settings)
    out = _out()
    out.print(f"[bold]Warehouse[/] {escape(str(report['snapshot']))}", highlight=False)
    if report["tables"]:
        t = _table("table", "rows", "sample rows", "periods", "newest vintage")
        for row in report["tables"]:
            t.add_row(*map(_cell, row))
        out.print(t)
    else:
        out.print("  nothing published yet: run `tradeflow refresh`")
    last = report["last_run"]
    if last:
        state = "[green]succeeded[/]" if last.success else f"[red]failed[/]: {escape(str(last.error))}"
        out.print(f"[bold]Last run[/] {escape(f'{last.finished_at} ({last.source}, {last.origin})')} {state}",
                  highlight=False)
        for c in last.failed_checks:
            out.print("  [yellow]failed check[/] " + escape(
                f"{c['asset']}:{c['check']} ({c['severity']}) {c.get('description') or ''}: "
                f"{c.get('failed_rows', '?')} row(s); sample {c.get('sample', [])[:5]}"), highlight=False)
    else:
        out.print("[bold]Last run[/] none recorded")
    cut = report.get("refresh")
    if cut and cut.running:
        out.print(f"[bold]Refresh running[/] {escape(cut.holder)}", highlight=False)
    elif cut:  # its holder line outlived it: the process died before the refresh ended (and recorded a run)
        out.print(f"[bold]Last refresh[/] [red]interrupted[/]: {escape(cut.holder)} ended before it finished (killed, or "
                  "the machine restarted); nothing it did was recorded as a run. Its fetched bodies are kept; the next "
                  "`tradeflow refresh` goes on from them", highlight=False)
    pub = report.get("last_publish")
    if pub:
        used = "; ".join(f"{d} " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
                         for d, kinds in sorted(pub.inputs.items()))
        out.print("[bold]Last publish[/] " + escape(f"{pub.finished_at} (built from {used or 'no archived requests'})"),
                  highlight=False)
    if verify:
        _print_verify(settings, out)


@main.command()
def verify() -> None:
    """Re-hash every object of the raw archive and re-read every manifest line."""
    settings = Settings.from_env()
    settings.check_home(write=False)
    _print_verify(settings, _out())


def _print_verify(settings: Settings, out: Console) -> None:
    from tradeflow.archive import RawArchive

    report = RawArchive(settings.raw_dir).verify()
    for problem in report.problems:
        out.print(f"  [red]✗[/] {escape(problem)}", highlight=False, soft_wrap=True)
    if not report.ok:
        raise TradeflowError(f"the raw archive {settings.raw_dir} is damaged: {len(report.problems)} problem(s) "
                             "listed above; a refresh that fetches the same bodies again rewrites damaged objects")
    out.print(f"[bold]Archive[/] {escape(str(settings.raw_dir))}: {report.manifest_rows} manifest rows, {report.objects_ok} objects "
              f"re-hashed and intact" + (f", {report.unreferenced} not in the manifest" if report.unreferenced else ""),
              highlight=False)
    if report.leftovers:
        from tradeflow import refresh_lock

        running = (state := refresh_lock.state(settings.home)) is not None and state.running
        what = ("temporary file(s): a refresh is running, they may be its writes in progress" if running else
                "temporary file(s) of writes cut short (a killed refresh), safe to delete")
        out.print(f"  {len(report.leftovers)} {what}: " + escape(", ".join(report.leftovers[:5]))
                  + (" …" if len(report.leftovers) > 5 else ""), highlight=False, soft_wrap=True)


@main.group()
def schedule() -> None:
    """CPFTA Phase-II tariff schedules (see `tradeflow schedule import --help` for the file format)."""


@schedule.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--party", type=click.Choice(["CHN", "PAK"]), required=True, help="Whose schedule (the importer).")
@click.option("--hs-version", default="HS2017", show_default=True,
              help="HS version of the tariff lines (other than HS2017: each line must convert to one HS2017 code, "
                   "1:1 or n:1, not 1:n or n:n).")
@click.option("--categories", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML table of staging categories, if the file's categories differ from the built-in ones; kept for "
                   "PARTY's refreshes (an import without it goes back to the built-in table).")
@click.option("--sheet", default=None, help="XLSX: the sheet holding the schedule (needed when several sheets could).")
def schedule_import(file: Path, party: str, hs_version: str, categories: Path | None, sheet: str | None) -> None:
    """Validate FILE (CSV or XLSX: tariff_line, description, base_rate, category) and load it for PARTY.

    A file that fails validation changes nothing; the next `tradeflow refresh` uses the new schedule.
    Official schedules: MOFCOM's FTA portal (fta.mofcom.gov.cn, China–Pakistan Phase II) and
    Pakistan's Ministry of Commerce (commerce.gov.pk, CPFTA Phase II protocol annexes)."""
    from tradeflow.fta.schedule import import_schedule

    settings = Settings.from_env()
    settings.check_home(write=True)
    path, n, notes = import_schedule(settings, file, party, hs_version, categories, sheet=sheet)
    for note in notes:
        console.print(f"[yellow]warning:[/] {escape(note)}", highlight=False, soft_wrap=True)
    click.echo(f"loaded {n} lines for {party} into {path}; run `tradeflow refresh` to rebuild the indicators")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "xlsx"]), default="csv", show_default=True)
@click.option("--table", "tables", multiple=True, help="A marts table (repeatable); default: every marts table.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=Path("exports"), show_default=True)
def export(fmt: str, tables: tuple[str, ...], output: Path) -> None:
    """Write marts tables as CSV or Parquet files, or one XLSX workbook with a sheet per table."""
    from tradeflow.export import export_marts

    settings = Settings.from_env()
    settings.check_home(write=False)
    for path, counts in export_marts(settings, fmt, list(tables), output):
        click.echo(str(path))
        for name, n in counts.items():
            click.echo(f"  {name}: {n:,} rows")


@main.command()
@click.option("--since", default=None, metavar="DATE",
              help="List what arrived at or after DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC unless an offset such as "
              "+05:00 is given); default: the latest arrival.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 100_000), help="Largest HS6-line revisions to list.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="json: strict JSON, a missing value is null.")
def changes(since: str | None, top: int, fmt: str) -> None:
    """What changed since the last run: new periods, revised periods (old vs new vintage), largest HS6 revisions.

    Read from the published snapshot; every vintage stays in the raw archive, so the history is kept across runs."""
    from tradeflow.report.changes import collect
    from tradeflow.warehouse import Warehouse

    start = _utc(since) if since else None
    with Warehouse(Settings.from_env().snapshot).reader() as conn:
        found = collect(conn, start, top)
    if fmt == "json":
        out = {k: (v.to_dict(orient="records") if hasattr(v, "to_dict") else v) for k, v in found.items()}
        click.echo(strict_json.dumps(out))  # a missing value (NaN in pandas) is null
        return
    _print_changes(found, top)


def _utc(since: str):
    """--since as a naive UTC datetime (arrival times are stored so): an offset (+05:00, Z) is converted, not dropped."""
    from datetime import UTC, datetime

    try:
        when = datetime.fromisoformat(since)
    except ValueError:
        raise TradeflowError(f"--since must be a date like 2026-03-01, 2026-03-01T02:00 (UTC) or 2026-03-01T07:00+05:00, "
                             f"got {since!r}") from None
    return when if when.tzinfo is None else when.astimezone(UTC).replace(tzinfo=None)


def _percent(ratio) -> str:
    """A revision ratio in percent, two decimals; a revision those would show as ±0.00 gets two significant digits."""
    import pandas as pd

    if pd.isna(ratio):
        return "—"
    pct = f"{100 * ratio:+.2f}"
    return pct if ratio == 0 or float(pct) != 0 else f"{100 * ratio:+.2g}"


def _print_changes(found: dict, top: int) -> None:
    import pandas as pd

    def usd(v) -> str:
        return "—" if pd.isna(v) else f"{v:,.0f}"

    def row(t: Table, *cells) -> None:  # plain text: a description's "[...]" is not rich markup
        t.add_row(*(Text(str(c)) for c in cells))

    out = _out()
    if found["latest"] is None:
        out.print("No UN Comtrade data stored yet: run `tradeflow refresh`.")
        return
    when = f"{found['since']:%Y-%m-%d %H:%M}"
    head = (f"the latest arrival ({when} UTC; {found['arrivals']} arrivals stored)" if found["is_latest"]
            else f"arrivals since {when} UTC")
    new, rev, lines = found["new"], found["revised"], found["lines"]
    n_rev = len(rev.drop_duplicates(["source", "reporter", "freq", "period"])) if len(rev) else 0
    out.print(f"[bold]What changed[/] in {head}: {len(new)} new period(s), {n_rev} revised period(s).", highlight=False,
              soft_wrap=True)
    if len(new):
        t = _table("source", "reporter", "frequency", "new periods", "vintage", title="New periods", title_justify="left")
        for (source, reporter, freq), g in new.groupby(["source", "reporter", "freq"], sort=True):
            periods = sorted(g["period"])
            listed = ", ".join(periods) if len(periods) <= 6 else f"{periods[0]} … {periods[-1]} ({len(periods)} periods)"
            vint = sorted(g["vintage"].astype(str))
            row(t, source, reporter, {"A": "annual", "M": "monthly"}.get(freq, freq), listed,
                vint[0] if vint[0] == vint[-1] else f"{vint[0]} … {vint[-1]}")
        out.print(t)
    if len(rev):
        t = _table("source", "reporter", "partner", "flow", "period", "old → new vintage", "before US$", "after US$",
                   "revision US$", "revision %", "lines +/−/~", title="Revised periods (old vs new vintage)",
                   title_justify="left")
        for r in rev.itertuples():
            row(t, r.source, r.reporter, r.partner, r.flow, r.period, f"{r.previous_vintage} → {r.vintage}",
                usd(r.value_usd_before), usd(r.value_usd), usd(r.revision_usd), _percent(r.revision_ratio),
                f"{r.lines_added}/{r.lines_dropped}/{r.lines_revised}")
        out.print(t)
    if len(lines):
        t = _table("reporter", "partner", "flow", "period", "HS6", "description", "change", "before US$", "after US$",
                   "revision US$", title=f"Largest revisions by HS6 line (top {top})", title_justify="left")
        for r in lines.itertuples():
            row(t, r.reporter, r.partner, r.flow, r.period, r.hs6, "" if pd.isna(r.description) else r.description,
                r.line_change, usd(r.value_usd_before), usd(r.value_usd), usd(r.revision_usd))
        out.print(t)


@main.command()
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("docs/sql.md"), show_default=True)
def docs(output: Path) -> None:
    """Regenerate the SQL contract (docs/sql.md) from the published snapshot."""
    from tradeflow.contract import write_docs
    from tradeflow.warehouse.db import connect

    settings = Settings.from_env()
    if not settings.snapshot.exists():
        raise TradeflowError(f"no published snapshot at {settings.snapshot}: run `tradeflow refresh` first")
    conn = connect(settings.snapshot, read_only=True)
    try:
        click.echo(str(write_docs(conn, output)))
    finally:
        conn.close()


if __name__ == "__main__":  # pragma: no cover
    main()
