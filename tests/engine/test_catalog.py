"""WorkflowCatalog: filters over definitions and run statistics from a real SQLite store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine import (
    Catalog,
    DiscoveredWorkflow,
    RunStatus,
    Step,
    StepResult,
    TrackedWorkflowRunner,
    Workflow,
    register_workflow,
    unregister_workflow,
)
from engine.catalog import WorkflowCatalog, WorkflowInfo, WorkflowNotFoundError
from engine.store.db import Database

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC).timestamp()


def clock() -> float:
    return NOW


def noop(ctx: Any, config: Any) -> None:
    return None


def definitions() -> list[Workflow]:
    return [
        Workflow("sec.daily_ingest", [Step.lambda_("fetch", noop), Step.lambda_("store", noop)],
                 domain="sec", description="Pull SEC filings every morning",
                 tags=["ingest", "Daily"], schedule="0 6 * * *", version=3),
        Workflow("risk.model_train", [Step.lambda_("train", noop)], domain="risk",
                 description="Train the credit model", tags=["ml"]),
        Workflow("ops.cleanup", [Step.lambda_("purge", noop)], domain="ops",
                 description="Delete old artifacts", tags=["maintenance", "daily"],
                 schedule="30 2 * * *"),
    ]


def names(infos: list[WorkflowInfo]) -> list[str]:
    return [info.name for info in infos]


def add_runs(path: Path, rows: list[tuple[str, str, float, float | None]]) -> None:
    """(workflow, status, created_at offset in seconds from NOW, duration) rows, bulk-inserted."""
    db = Database(path)
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO runs (run_id, workflow, version, status, created_at, finished_at, "
            "duration_seconds, step_count) VALUES (?, ?, 2, ?, ?, ?, ?, 7)",
            [(f"r{i}", wf, status, NOW + offset, NOW + offset + (seconds or 0), seconds)
             for i, (wf, status, offset, seconds) in enumerate(rows)])
    db.close()


# ---------------------------------------------------------------------- search
@pytest.mark.parametrize(("filters", "expected"), [
    ({}, ["ops.cleanup", "risk.model_train", "sec.daily_ingest"]),
    ({"query": "daily"}, ["ops.cleanup", "sec.daily_ingest"]),  # a tag, then a name
    ({"query": "CREDIT"}, ["risk.model_train"]),  # description, any case
    ({"query": "sec filings"}, ["sec.daily_ingest"]),  # every word must match
    ({"query": "filings ml"}, []),
    ({"domain": "SEC"}, ["sec.daily_ingest"]),
    ({"tags": ["daily"]}, ["ops.cleanup", "sec.daily_ingest"]),
    ({"tags": ["daily", "ingest"]}, ["sec.daily_ingest"]),
    ({"has_schedule": True}, ["ops.cleanup", "sec.daily_ingest"]),
    ({"has_schedule": False}, ["risk.model_train"]),
    ({"query": "daily", "domain": "ops", "has_schedule": True}, ["ops.cleanup"]),
])
def test_search_applies_every_filter(tmp_path: Path, filters: dict[str, Any],
                                     expected: list[str]) -> None:
    catalog = WorkflowCatalog(tmp_path / "s.db", definitions(), clock=clock)
    assert names(catalog.search(**filters)) == expected


def test_search_reads_stats_for_all_workflows_in_a_fixed_number_of_queries(
        tmp_path: Path) -> None:
    many = [Workflow(f"bulk.wf{i:02d}", [Step.lambda_("a", noop)]) for i in range(30)]
    add_runs(tmp_path / "s.db", [(f"bulk.wf{i:02d}", "completed", -i, 1.0) for i in range(30)])
    counts = []
    for defs in (many[:3], many):
        catalog = WorkflowCatalog(tmp_path / "s.db", defs, clock=clock)
        statements: list[str] = []
        catalog.store.db.connection().set_trace_callback(statements.append)
        infos = catalog.search()
        catalog.store.db.connection().set_trace_callback(None)
        assert all(info.total_runs == 1 for info in infos)
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 2


# ---------------------------------------------------------------------- get_info
def test_get_info_combines_definition_and_run_statistics(tmp_path: Path) -> None:
    add_runs(tmp_path / "s.db", [
        ("sec.daily_ingest", "completed", -3600 * 6, 40.0),
        ("sec.daily_ingest", "completed", -3600 * 5, 10.0),
        ("sec.daily_ingest", "completed", -3600 * 4, 60.0),
        ("sec.daily_ingest", "failed", -3600 * 3, 5.0),
        ("sec.daily_ingest", "completed", -3600 * 2, 20.0),
        ("sec.daily_ingest", "cancelled", -3600, None),  # the last run, not a failure
        ("risk.model_train", "failed", -60, 1.0),
    ])
    info = WorkflowCatalog(tmp_path / "s.db", definitions(), clock=clock).get_info(
        "sec.daily_ingest")
    assert (info.domain, info.description, info.step_count, info.tags, info.version) == (
        "sec", "Pull SEC filings every morning", 2, ["ingest", "Daily"], 3)
    assert info.total_runs == 6 and info.finished_runs == 5
    assert info.success_rate == pytest.approx(0.8)
    assert info.avg_duration_seconds == pytest.approx(32.5)
    assert info.p50_duration_seconds == pytest.approx(30.0)  # between 20 and 40
    assert info.last_run_at == datetime(2025, 6, 15, 11, 0, tzinfo=UTC)
    assert info.last_run_status is RunStatus.CANCELLED
    assert info.last_success_at == datetime(2025, 6, 15, 10, 0, 20, tzinfo=UTC)
    assert info.last_failure_at == datetime(2025, 6, 15, 9, 0, 5, tzinfo=UTC)
    assert info.schedule == "0 6 * * *"
    assert info.next_run_at == datetime(2025, 6, 16, 6, 0, tzinfo=UTC)
    assert info.defined


def test_get_info_of_a_workflow_that_never_ran(tmp_path: Path) -> None:
    info = WorkflowCatalog(tmp_path / "s.db", definitions(), clock=clock).get_info(
        "ops.cleanup")
    assert (info.total_runs, info.success_rate, info.avg_duration_seconds) == (0, 0.0, 0.0)
    assert info.last_run_at is None and info.last_run_status is None
    assert info.next_run_at == datetime(2025, 6, 16, 2, 30, tzinfo=UTC)
    assert json.loads(json.dumps(info.to_dict()))["next_run_at"] == "2025-06-16T02:30:00+00:00"


def test_unknown_name_raises_a_lookup_error_with_suggestions(tmp_path: Path) -> None:
    catalog = WorkflowCatalog(tmp_path / "s.db", definitions(), clock=clock)
    with pytest.raises(WorkflowNotFoundError) as caught:
        catalog.get_info("sec.daily_injest")
    assert isinstance(caught.value, LookupError)
    assert caught.value.suggestions == ["sec.daily_ingest"]
    assert "did you mean 'sec.daily_ingest'" in str(caught.value)
    with pytest.raises(LookupError, match="3 workflows"):
        catalog.get_info("cleanup.ops.zzz")
    assert WorkflowCatalog(tmp_path / "s.db", definitions()).search(query="nothing") == []


# ---------------------------------------------------------------------- sources of definitions
def test_without_definitions_the_registry_and_stored_history_are_listed(tmp_path: Path) -> None:
    add_runs(tmp_path / "s.db", [("old.removed", "completed", -10, 4.0)])
    registered = Workflow("catalog.registered", [Step.lambda_("a", noop)], tags=["x"])
    register_workflow(registered)
    try:
        catalog = WorkflowCatalog(tmp_path / "s.db", clock=clock)
        assert {"catalog.registered", "old.removed"} <= set(catalog.names())
        old = catalog.get_info("old.removed")
        assert not old.defined and old.step_count == 7 and old.version == 2
        assert old.total_runs == 1 and old.success_rate == 1.0
        assert names(catalog.search(tags=["x"])) == ["catalog.registered"]
    finally:
        unregister_workflow("catalog.registered")
    explicit = WorkflowCatalog(tmp_path / "s.db", definitions(), clock=clock)
    assert "old.removed" not in explicit.names()


def test_definitions_may_come_from_discovery(tmp_path: Path) -> None:
    found = Catalog(workflows=tuple(DiscoveredWorkflow(wf, f"/flows/{wf.name}.py", "python")
                                    for wf in definitions()))
    catalog = WorkflowCatalog(tmp_path / "s.db", found, clock=clock)
    assert catalog.get_info("ops.cleanup").source == "/flows/ops.cleanup.py"
    assert len(WorkflowCatalog(tmp_path / "s.db", found.workflows).search()) == 3
    with pytest.raises(TypeError, match="Workflow"):
        WorkflowCatalog(tmp_path / "s.db", ["ops.cleanup"])


def test_catalog_reports_runs_recorded_by_the_tracked_runner(tmp_path: Path) -> None:
    def load(ctx: Any, config: Any) -> Any:
        return StepResult.fail("no rows", category="DATA_QUALITY") if ctx.params.get("bad") \
            else {"rows": 1}

    wf = Workflow("catalog.tracked", [Step.lambda_("extract", noop), Step.lambda_("load", load)],
                  domain="demo")
    with TrackedWorkflowRunner(tmp_path / "s.db", capture_logs=False) as runner:
        runner.execute(wf, {"bad": False})
        runner.execute(wf, {"bad": True})
    info = WorkflowCatalog(runner.store, [wf]).get_info("catalog.tracked")
    assert info.total_runs == 2 and info.success_rate == pytest.approx(0.5)
    assert info.last_run_status is RunStatus.FAILED
    assert info.last_failure_at is not None and info.last_success_at is not None
    assert info.last_success_at <= info.last_failure_at
    assert info.avg_duration_seconds == pytest.approx(info.p50_duration_seconds)


def test_next_run_honours_a_cron_tz_prefix(tmp_path: Path) -> None:
    """``CRON_TZ=Europe/Paris 0 3 * * *`` fires at 03:00 Paris time: 01:00 UTC in summer."""
    wf = Workflow("cat.paris", [Step.wait("nap", 0)], schedule="CRON_TZ=Europe/Paris 0 3 * * *")
    summer = datetime(2026, 7, 1, 12, tzinfo=UTC).timestamp()
    catalog = WorkflowCatalog(tmp_path / "spine.db", [wf], clock=lambda: summer)
    [info] = catalog.search()
    assert info.next_run_at == datetime(2026, 7, 2, 1, tzinfo=UTC)
