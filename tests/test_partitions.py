"""Time-window partitions: annual and monthly apart, valid on any date — a code location loaded before
New Year still asks for partitions that exist after it."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from pipelines.assets.sources import annual_partitions, monthly_partitions
from pipelines.definitions import defs  # loaded once, "earlier", like a long-running code server
from pipelines.schedules import next_run_request
from tradeflow.periods import period_keys

KARACHI = ZoneInfo("Asia/Karachi")
START, END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def partitions_of(job_name: str) -> dg.PartitionsDefinition:
    return defs.resolve_job_def(job_name).partitions_def


def assert_valid(request: dg.RunRequest, job_name: str, at: datetime) -> list[str]:
    """The request's range exists in its job's partitions at ``at``; the keys it covers."""
    keys = partitions_of(job_name).get_partition_keys(current_time=at)
    start, end = request.tags[START], request.tags[END]
    assert start in keys and end in keys, (job_name, start, end, keys[-3:])
    return keys[keys.index(start): keys.index(end) + 1]


def test_annual_and_monthly_sources_are_partitioned_apart():
    graph = defs.resolve_asset_graph()
    by_key = {"/".join(k.path): graph.get(k).partitions_def for k in graph.get_all_asset_keys()}
    assert by_key["archive/comtrade_annual"] == by_key["archive/wits_tariff_responses"] == annual_partitions
    assert by_key["archive/comtrade_monthly"] == monthly_partitions
    assert partitions_of("annual_sources_job") == annual_partitions
    assert partitions_of("refresh_job") == monthly_partitions
    at = datetime(2026, 12, 3, tzinfo=UTC)
    annual = annual_partitions.get_partition_keys(current_time=at)
    monthly = monthly_partitions.get_partition_keys(current_time=at)
    assert (annual[0], annual[-1], monthly[0], monthly[-1]) == ("2015", "2025", "2019-01", "2026-12")
    assert all(len(k) == 4 for k in annual) and all(len(k) == 7 for k in monthly)


@pytest.mark.parametrize("day", [date(2026, 1, 1), date(2026, 6, 15), date(2026, 12, 31), date(2027, 1, 1)])
def test_library_period_keys_are_the_partition_keys(day):
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    keys = annual_partitions.get_partition_keys(current_time=at) + monthly_partitions.get_partition_keys(current_time=at)
    assert period_keys(day) == sorted(keys)


@pytest.mark.parametrize("when", [datetime(2027, 1, 1, 2, 0, tzinfo=KARACHI), datetime(2027, 1, 2, 2, 0, tzinfo=KARACHI),
                                  datetime(2028, 3, 1, 2, 0, tzinfo=KARACHI)])
def test_nightly_refresh_past_new_year_asks_only_for_partitions_that_exist(when):
    sched = defs.resolve_schedule_def("nightly_refresh_schedule")
    [first] = list(sched.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=when)).run_requests)
    years = assert_valid(first, sched.job_name, when)
    assert years[0] == "2015" and years[-1] == str(when.astimezone(UTC).year - 1)

    # the annual run succeeded: the sensor's follow-up run covers every month that exists by then
    run = dg.DagsterRun(job_name=sched.job_name, run_id="r1", run_config=first.run_config, tags=first.tags)
    second = next_run_request(run, when)
    months = assert_valid(second, "refresh_job", when)
    assert months[0] == "2019-01" and months[-1] == f"{when.astimezone(UTC):%Y-%m}"
    assert second.run_config == first.run_config and second.tags["tradeflow/refresh"] == first.tags["tradeflow/refresh"]


def test_the_annual_run_of_a_scheduled_refresh_chains_the_rest_and_nothing_else():
    from dagster import DagsterEvent, DagsterEventType

    from pipelines.sensors import refresh_after_annual_sources

    assert refresh_after_annual_sources.job_name == "refresh_job"
    instance = dg.DagsterInstance.ephemeral()
    job = defs.resolve_job_def("annual_sources_job")
    done = DagsterEvent(event_type_value=DagsterEventType.RUN_SUCCESS.value, job_name=job.name)

    def evaluate(tags):
        run = instance.create_run_for_job(job_def=job, run_config={"resources": {"tradeflow": {"config": {"source": "live"}}}},
                                          tags={START: "2015", END: "2025", **tags})
        ctx = dg.build_run_status_sensor_context(sensor_name=refresh_after_annual_sources.name, dagster_event=done,
                                                 dagster_instance=instance, dagster_run=run)
        return refresh_after_annual_sources(ctx)

    request = evaluate({"tradeflow/refresh": "nightly-1", "tradeflow/source": "live"})
    assert isinstance(request, dg.RunRequest)
    assert_valid(request, "refresh_job", datetime.now(UTC))
    assert request.tags["tradeflow/refresh"] == "nightly-1" and request.run_config["resources"]["tradeflow"]["config"] == {"source": "live"}
    assert isinstance(evaluate({}), dg.SkipReason)  # an annual fetch launched by hand is not a refresh


def test_a_scheduled_refresh_gets_one_ledger_line_covering_its_runs(tmp_path, monkeypatch):
    from dagster import DagsterEvent, DagsterEventType

    from pipelines.resources import TradeflowResource
    from pipelines.sensors import ledger_on_success
    from tradeflow import runlog

    monkeypatch.setenv("TRADEFLOW_HOME", str(tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    live = {"resources": {"tradeflow": {"config": {"source": "live"}}}}
    tags = {"tradeflow/refresh": "nightly-1", "tradeflow/source": "live"}
    runs = [instance.create_run_for_job(job_def=defs.resolve_job_def(job), run_config=live, tags=tags,
                                        status=dg.DagsterRunStatus.SUCCESS)
            for job in ("annual_sources_job", "refresh_job")]
    done = DagsterEvent(event_type_value=DagsterEventType.RUN_SUCCESS.value, job_name="refresh_job")
    ctx = dg.build_run_status_sensor_context(sensor_name=ledger_on_success.name, dagster_event=done,
                                             dagster_instance=instance, dagster_run=runs[1],
                                             resources={"tradeflow": TradeflowResource()})
    ledger_on_success(ctx)
    [line] = runlog.runs(tmp_path)
    assert line.origin == "dagster" and line.source == "live" and line.success
    assert line.dagster_runs == [r.run_id for r in runs] and line.run_id == runs[1].run_id


def test_the_nightly_schedule_tick_fails_runs_a_killed_cli_refresh_left_in_progress(monkeypatch):
    """The schedule's own tick clears a dead CLI run (the daemon's queue would otherwise wait behind it for good,
    until someone ran `tradeflow refresh` by hand)."""
    import socket
    import subprocess

    from dagster._core.storage.dagster_run import DagsterRun

    from pipelines.instance import HOST_TAG, PID_TAG

    dead = subprocess.Popen(["true"])
    dead.wait()
    monkeypatch.setattr("pipelines.instance.STALE_AFTER", -1)  # the run below is as silent as a night-old one
    with dg.instance_for_test() as instance:
        run = DagsterRun(job_name="__ASSET_JOB", run_id="d" * 32, status=dg.DagsterRunStatus.STARTED,
                         tags={"tradeflow/origin": "cli", PID_TAG: str(dead.pid), HOST_TAG: socket.gethostname()})
        instance.add_run(run)
        sched = defs.resolve_schedule_def("nightly_refresh_schedule")
        ctx = dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime(2027, 1, 2, 2, 0, tzinfo=KARACHI))
        assert list(sched.evaluate_tick(ctx).run_requests)
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE


LIVE = {"resources": {"tradeflow": {"config": {"source": "live"}}}}


def _reexecution_of(run: dg.DagsterRun) -> dict[str, str]:
    """The tags a re-execution of ``run`` carries (the UI and automatic retries copy the parent's tags)."""
    return {**run.tags, "dagster/parent_run_id": run.run_id, "dagster/root_run_id": run.tags.get("dagster/root_run_id", run.run_id)}


def _ledger_line_after(instance, runs: list[tuple[str, dg.DagsterRunStatus, str | None]], home):
    """Create the runs (job, status, index of the run it re-executes) of one scheduled refresh; the ledger
    line the sensor writes when the last ends."""
    from dagster import DagsterEvent, DagsterEventType

    from pipelines.resources import TradeflowResource
    from pipelines.sensors import ledger_on_failure, ledger_on_success
    from tradeflow import runlog

    made: list[dg.DagsterRun] = []
    for job, status, parent in runs:
        tags = {"tradeflow/refresh": "nightly-1", "tradeflow/source": "live"}
        made.append(instance.create_run_for_job(job_def=defs.resolve_job_def(job), run_config=LIVE, status=status,
                                                tags=_reexecution_of(made[parent]) if parent is not None else tags))
    run = made[-1]
    ok = run.status == dg.DagsterRunStatus.SUCCESS
    event = DagsterEvent(event_type_value=(DagsterEventType.RUN_SUCCESS if ok else DagsterEventType.RUN_FAILURE).value,
                         job_name=run.job_name)
    ctx = dg.build_run_status_sensor_context(sensor_name="ledger", dagster_event=event, dagster_instance=instance,
                                             dagster_run=run, resources={"tradeflow": TradeflowResource()})
    ledger_on_success(ctx) if ok else ledger_on_failure(ctx.for_run_failure())
    return runlog.last_run(home), made


OK, FAILED = dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE


@pytest.mark.parametrize("runs", [
    [("annual_sources_job", OK, None), ("refresh_job", FAILED, None), ("refresh_job", OK, 1)],
    # re-executed twice: the first re-execution failed too (its parent is the re-execution, its root the original)
    [("annual_sources_job", OK, None), ("refresh_job", FAILED, None), ("refresh_job", FAILED, 1), ("refresh_job", OK, 2)],
    # the annual run failed, its re-execution succeeded, and the refresh_job the sensor then launched succeeded
    [("annual_sources_job", FAILED, None), ("annual_sources_job", OK, 0), ("refresh_job", OK, None)],
], ids=["refresh_job", "twice", "annual"])
def test_a_scheduled_refresh_fixed_by_re_executing_its_failed_run_is_recorded_as_a_success(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEFLOW_HOME", str(tmp_path))
    with dg.instance_for_test() as instance:
        line, made = _ledger_line_after(instance, runs, tmp_path)
    assert line.success and line.error is None, line.error
    assert line.dagster_runs == [r.run_id for r in made]  # every run of the refresh is listed, the superseded too


def test_a_re_execution_that_failed_again_leaves_the_refresh_failed(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEFLOW_HOME", str(tmp_path))
    with dg.instance_for_test() as instance:
        line, _ = _ledger_line_after(instance, [("annual_sources_job", OK, None), ("refresh_job", FAILED, None),
                                                ("refresh_job", FAILED, 1)], tmp_path)
    assert not line.success and "the run failed" in line.error


def test_a_re_execution_replaces_the_verdicts_it_redid_and_keeps_those_it_did_not(tmp_path):
    """From failure, a re-execution runs only the failed step: the superseded run's step failure and the verdict it
    replaced do not count; the warning of a step it did not run again still does."""
    from pipelines.ledger import outcome_of_runs

    broken = {"now": True}

    @dg.asset(key=["archive", "toy_annual"], check_specs=[dg.AssetCheckSpec("complete", asset=["archive", "toy_annual"])])
    def toy_annual():
        return dg.MaterializeResult(check_results=[dg.AssetCheckResult(
            check_name="complete", passed=False, severity=dg.AssetCheckSeverity.WARN, description="one warning")])

    @dg.asset(key=["archive", "toy_monthly"], check_specs=[dg.AssetCheckSpec("complete", asset=["archive", "toy_monthly"])])
    def toy_monthly():
        yield dg.MaterializeResult(check_results=[dg.AssetCheckResult(
            check_name="complete", passed=not broken["now"], severity=dg.AssetCheckSeverity.ERROR,
            description="nothing arrived" if broken["now"] else None)])
        if broken["now"]:
            raise dg.Failure("the source gave up")

    with dg.instance_for_test() as instance:
        tags = {"tradeflow/refresh": "nightly-1"}
        first = dg.materialize([toy_annual, toy_monthly], instance=instance, tags=tags, raise_on_error=False)
        assert not first.success
        broken["now"] = False
        again = dg.materialize([toy_annual, toy_monthly], selection=[toy_monthly], instance=instance, raise_on_error=False,
                               tags=_reexecution_of(instance.get_run_by_id(first.run_id)))
        outcome = outcome_of_runs(instance, [first.run_id, again.run_id], [])
    assert outcome.success and outcome.error is None, outcome.error
    assert [(c["asset"], c["check"], c["severity"]) for c in outcome.failed_checks] == [
        ("archive/toy_annual", "complete", "WARN")]
    assert {"archive/toy_annual", "archive/toy_monthly"} <= set(outcome.assets)


def test_a_re_executed_annual_run_launches_the_refresh_job_once():
    """The refresh_job request's run key is the annual run chain's root: the sensor's run-key dedup launches one
    refresh_job per scheduled refresh, whichever run of the chain succeeded (and for two that did)."""
    from dagster import DagsterEvent, DagsterEventType

    from pipelines.sensors import refresh_after_annual_sources

    job = defs.resolve_job_def("annual_sources_job")
    done = DagsterEvent(event_type_value=DagsterEventType.RUN_SUCCESS.value, job_name=job.name)
    tags = {START: "2015", END: "2025", "tradeflow/refresh": "nightly-1", "tradeflow/source": "live",
            "dagster/schedule_name": "nightly_refresh_schedule", "dagster/run_key": "nightly-1"}
    with dg.instance_for_test() as instance:
        first = instance.create_run_for_job(job_def=job, run_config=LIVE, tags=tags, status=OK)
        again = instance.create_run_for_job(job_def=job, run_config=LIVE, tags=_reexecution_of(first), status=OK)
        requests = [refresh_after_annual_sources(dg.build_run_status_sensor_context(
            sensor_name=refresh_after_annual_sources.name, dagster_event=done, dagster_instance=instance, dagster_run=run))
            for run in (first, again)]
    assert all(isinstance(r, dg.RunRequest) for r in requests)
    assert requests[0].run_key == requests[1].run_key == f"{first.run_id}-refresh"
    # the request carries the refresh's tags, not the re-execution's nor the schedule's
    assert {k for k in requests[1].tags if not k.startswith("tradeflow/")} == {START, END}
    assert requests[1].tags["tradeflow/refresh"] == "nightly-1"
