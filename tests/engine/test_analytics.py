"""RunAnalytics over real SQLite stores: exact rates, percentiles, breakdowns and daily trends."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine import RunStore, Step, StepResult, TrackedWorkflowRunner, Workflow
from engine.analytics import RunAnalytics
from engine.store.db import Database

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC).timestamp()
DAY = 86_400.0


def clock() -> float:
    return NOW


def add_runs(path: Path, runs: Sequence[dict[str, Any]],
             steps: Sequence[dict[str, Any]] = ()) -> None:
    """Bulk-insert run and step rows with known values (the way a long history looks)."""
    db = Database(path)
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO runs (run_id, workflow, status, created_at, finished_at, "
            "duration_seconds) VALUES (?, ?, ?, ?, ?, ?)",
            [(r.get("run_id", f"r{i}-{r['workflow']}-{r['created_at']}"), r["workflow"],
              r["status"], r["created_at"], r["created_at"] + (r.get("duration") or 0),
              r.get("duration")) for i, r in enumerate(runs)])
        conn.executemany(
            "INSERT INTO step_runs (run_id, step, workflow, status, attempts, error_category, "
            "started_at, finished_at, duration_seconds) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)",
            [(s.get("run_id", f"s{i}"), s["step"], s["workflow"], s["status"],
              s.get("category"), s["started_at"], s["started_at"] + s.get("duration", 0),
              s.get("duration", 0)) for i, s in enumerate(steps)])
    db.close()


def run(workflow: str, status: str, days_ago: float, duration: float | None = None
        ) -> dict[str, Any]:
    return {"workflow": workflow, "status": status, "created_at": NOW - days_ago * DAY,
            "duration": duration}


def step(name: str, status: str, days_ago: float, duration: float = 0.0,
         category: str | None = None, workflow: str = "wf") -> dict[str, Any]:
    return {"workflow": workflow, "step": name, "status": status,
            "started_at": NOW - days_ago * DAY, "duration": duration, "category": category}


# ---------------------------------------------------------------------- success rate
def test_success_rate_is_completed_over_finished_runs_in_the_window(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    add_runs(db, [
        *[run("wf", "completed", 1) for _ in range(6)],
        *[run("wf", "failed", 2) for _ in range(2)],
        run("wf", "interrupted", 3),
        *[run("wf", "cancelled", 1) for _ in range(3)],  # neither success nor failure
        *[run("wf", "skipped", 1) for _ in range(2)],
        run("wf", "running", 0.1),
        *[run("wf", "failed", 40) for _ in range(5)],  # outside the 30-day window
        *[run("other", "failed", 1) for _ in range(4)],  # another workflow
    ])
    analytics = RunAnalytics(db, clock=clock)
    assert analytics.success_rate("wf") == pytest.approx(6 / 9)
    assert analytics.success_rate("wf", window_days=60) == pytest.approx(6 / 14)
    assert analytics.success_rate("wf", window_days=None) == pytest.approx(6 / 14)
    assert analytics.success_rate() == pytest.approx(6 / 13)
    assert analytics.success_rate("wf", window_days=1.5) == pytest.approx(1.0)


def test_success_rate_is_zero_when_nothing_finished(tmp_path: Path) -> None:
    add_runs(tmp_path / "s.db", [run("wf", "cancelled", 1), run("wf", "running", 0)])
    assert RunAnalytics(tmp_path / "s.db", clock=clock).success_rate("wf") == 0.0
    assert RunAnalytics(tmp_path / "s.db", clock=clock).success_rate("nobody") == 0.0


# ---------------------------------------------------------------------- percentiles
def test_duration_percentiles_interpolate_over_completed_runs_only(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    add_runs(db, [
        *[run("wf", "completed", 1 + i / 10, duration=float(i)) for i in range(1, 101)],
        *[run("wf", "failed", 1, duration=10_000.0) for _ in range(20)],
        *[run("wf", "completed", 45, duration=5_000.0) for _ in range(50)],
        *[run("other", "completed", 1, duration=9_000.0) for _ in range(50)],
    ])
    analytics = RunAnalytics(RunStore(db), clock=clock)
    assert analytics.duration_percentiles("wf") == pytest.approx(
        {"p50": 50.5, "p90": 90.1, "p99": 99.01})
    assert analytics.duration_percentiles("wf", percentiles=(25, 75, 99.9)) == pytest.approx(
        {"p25": 25.75, "p75": 75.25, "p99.9": 99.901})
    assert analytics.duration_percentiles("wf", window_days=None)["p50"] == pytest.approx(75.5)
    everyone = analytics.duration_percentiles()
    assert everyone["p50"] == pytest.approx(75.5) and everyone["p90"] == pytest.approx(9000.0)


def test_duration_percentiles_are_none_without_completed_runs(tmp_path: Path) -> None:
    add_runs(tmp_path / "s.db", [run("wf", "failed", 1, duration=3.0)])
    result = RunAnalytics(tmp_path / "s.db", clock=clock).duration_percentiles("wf")
    assert result == {"p50": None, "p90": None, "p99": None}


# ---------------------------------------------------------------------- failures & steps
def test_failure_breakdown_counts_failed_steps_by_category(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    add_runs(db, [], [
        *[step("load", "failed", 1, category="DATA_QUALITY") for _ in range(3)],
        *[step("fetch", "failed", 2, category="TIMEOUT") for _ in range(2)],
        step("fetch", "failed", 3, category=None),
        step("fetch", "failed", 3, category=""),
        *[step("load", "completed", 1) for _ in range(9)],
        step("load", "failed", 31, category="TRANSIENT"),  # outside the window
        step("load", "failed", 1, category="DEPENDENCY", workflow="other"),
    ])
    analytics = RunAnalytics(db, clock=clock)
    breakdown = analytics.failure_breakdown("wf")
    assert breakdown == {"DATA_QUALITY": 3, "TIMEOUT": 2, "UNKNOWN": 2}
    assert list(breakdown) == ["DATA_QUALITY", "TIMEOUT", "UNKNOWN"]
    assert analytics.failure_breakdown("wf", window_days=60)["TRANSIENT"] == 1
    assert analytics.failure_breakdown() == {"DATA_QUALITY": 3, "TIMEOUT": 2, "UNKNOWN": 2,
                                             "DEPENDENCY": 1}
    assert analytics.failure_breakdown("nobody") == {}


def test_slowest_steps_rank_by_mean_duration_of_completed_steps(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    add_runs(db, [], [
        step("extract", "completed", 1, 4.0), step("extract", "completed", 2, 6.0),
        step("transform", "completed", 1, 1.0),
        step("load", "completed", 1, 2.0), step("load", "completed", 1, 4.0),
        step("transform", "failed", 1, 500.0),  # failures do not count
        step("extract", "completed", 40, 900.0),  # outside the window
        step("report", "completed", 1, 3.5, workflow="other"),
    ])
    analytics = RunAnalytics(db, clock=clock)
    rows = analytics.slowest_steps("wf", limit=2)
    assert rows == [
        {"workflow": "wf", "step": "extract", "runs": 2, "avg_seconds": 5.0,
         "max_seconds": 6.0, "total_seconds": 10.0},
        {"workflow": "wf", "step": "load", "runs": 2, "avg_seconds": 3.0,
         "max_seconds": 4.0, "total_seconds": 6.0},
    ]
    everything = analytics.slowest_steps()
    assert [(r["workflow"], r["step"]) for r in everything] == [
        ("wf", "extract"), ("other", "report"), ("wf", "load"), ("wf", "transform")]


def test_slowest_steps_fold_a_maps_items_into_one_row(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    add_runs(db, [], [
        step("fan", "completed", 1, 9.0),
        step("fan[0].score", "completed", 1, 2.0), step("fan[1].score", "completed", 1, 4.0),
        step("fan[12].score", "completed", 2, 6.0), step("fan[3].store", "completed", 1, 1.0),
        step("fan[4].score", "failed", 1, 100.0),  # failures do not count
    ])
    rows = RunAnalytics(db, clock=clock).slowest_steps("wf")
    assert rows == [
        {"workflow": "wf", "step": "fan", "runs": 1, "avg_seconds": 9.0,
         "max_seconds": 9.0, "total_seconds": 9.0},
        {"workflow": "wf", "step": "fan[*].score", "runs": 3, "avg_seconds": 4.0,
         "max_seconds": 6.0, "total_seconds": 12.0},
        {"workflow": "wf", "step": "fan[*].store", "runs": 1, "avg_seconds": 1.0,
         "max_seconds": 1.0, "total_seconds": 1.0},
    ]


# ---------------------------------------------------------------------- trends
def at(day: str, hour: int) -> float:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00").timestamp()


def trend_store(path: Path) -> None:
    rows = [("2025-06-13", 1, "completed", 10.0), ("2025-06-13", 23, "completed", 20.0),
            ("2025-06-13", 12, "failed", 99.0), ("2025-06-13", 13, "cancelled", None),
            ("2025-06-15", 11, "completed", 30.0), ("2025-06-15", 11, "interrupted", None),
            ("2025-06-12", 23, "failed", 1.0)]  # the day before a 3-day window
    add_runs(path, [{"workflow": "wf", "status": status, "created_at": at(day, hour),
                     "duration": seconds} for day, hour, status, seconds in rows])


def test_trending_frame_has_one_row_per_day_with_every_metric(tmp_path: Path) -> None:
    trend_store(tmp_path / "s.db")
    frame = RunAnalytics(tmp_path / "s.db", clock=clock).trending_frame("wf", window_days=3)
    assert [d.date().isoformat() for d in frame.index] == ["2025-06-13", "2025-06-14",
                                                           "2025-06-15"]
    assert frame["runs"].tolist() == [4, 0, 2]
    assert frame["completed"].tolist() == [2, 0, 1]
    assert frame["failures"].tolist() == [1, 0, 1]
    assert frame["success_rate"].iloc[0] == pytest.approx(2 / 3)
    assert math.isnan(frame["success_rate"].iloc[1])
    assert frame["success_rate"].iloc[2] == pytest.approx(0.5)
    assert frame["duration_p50"].iloc[0] == pytest.approx(15.0)
    assert math.isnan(frame["duration_p50"].iloc[1])
    assert frame["duration_p50"].iloc[2] == pytest.approx(30.0)


def test_trending_returns_json_ready_daily_points(tmp_path: Path) -> None:
    trend_store(tmp_path / "s.db")
    analytics = RunAnalytics(tmp_path / "s.db", clock=clock)
    runs = analytics.trending("wf", "runs", window_days=3)
    assert runs == [{"date": "2025-06-13", "value": 4}, {"date": "2025-06-14", "value": 0},
                    {"date": "2025-06-15", "value": 2}]
    assert all(type(p["value"]) is int for p in runs)
    assert analytics.trending("wf", "duration", window_days=3) == [
        {"date": "2025-06-13", "value": 15.0}, {"date": "2025-06-14", "value": None},
        {"date": "2025-06-15", "value": 30.0}]
    assert analytics.trending("wf", "failures", 3)[0]["value"] == 1
    assert len(analytics.trending("wf")) == 30
    json.dumps(analytics.trending("wf", "success_rate", 3))


def test_trending_rejects_an_unknown_metric_naming_the_valid_ones(tmp_path: Path) -> None:
    analytics = RunAnalytics(tmp_path / "s.db", clock=clock)
    with pytest.raises(ValueError, match="duration_p50"):
        analytics.trending("wf", "latency")


# ---------------------------------------------------------------------- summary & real runs
def test_summary_collects_the_figures_as_json(tmp_path: Path) -> None:
    trend_store(tmp_path / "s.db")
    summary = RunAnalytics(tmp_path / "s.db", clock=clock).summary("wf", window_days=3)
    # a rolling 3-day window: since 2025-06-12 12:00, so the failure at 23:00 that day counts
    assert summary["by_status"] == {"cancelled": 1, "completed": 3, "failed": 2,
                                    "interrupted": 1}
    assert summary["total_runs"] == 7 and summary["finished_runs"] == 6
    assert summary["success_rate"] == pytest.approx(0.5)
    assert summary["failure_breakdown"] == {}
    assert summary["duration_seconds"]["p50"] == pytest.approx(20.0)
    assert summary["last_run"]["created_at"].startswith("2025-06-15T11:00")
    json.dumps(summary)


def flaky(ctx: Any, config: dict[str, Any]) -> Any:
    if ctx.params.get("fail"):
        return StepResult.fail("upstream too slow", category="TIMEOUT")
    return {"rows": 3}


def test_analytics_read_what_tracked_runs_recorded(tmp_path: Path) -> None:
    wf = Workflow("analytics.real", steps=[Step.lambda_("extract", lambda ctx, cfg: {"n": 1}),
                                           Step.lambda_("load", flaky)])
    with TrackedWorkflowRunner(tmp_path / "s.db", capture_logs=False) as runner:
        for fail in (False, False, True, False):
            runner.execute(wf, {"fail": fail})
    analytics = RunAnalytics(tmp_path / "s.db")
    assert analytics.success_rate("analytics.real") == pytest.approx(0.75)
    assert analytics.failure_breakdown("analytics.real") == {"TIMEOUT": 1}
    percentiles = analytics.duration_percentiles("analytics.real")
    assert 0 <= percentiles["p50"] <= percentiles["p90"] <= percentiles["p99"] < 60
    today = analytics.trending("analytics.real", "runs", window_days=1)
    assert today == [{"date": datetime.now(UTC).date().isoformat(), "value": 4}]
    steps = analytics.slowest_steps("analytics.real")
    assert sorted((s["step"], s["runs"]) for s in steps) == [("extract", 4), ("load", 3)]
    assert analytics.summary("analytics.real")["last_run"]["status"] == "completed"


def test_window_counts_back_from_the_clock(tmp_path: Path) -> None:
    add_runs(tmp_path / "s.db", [run("wf", "completed", 0.5), run("wf", "failed", 2)])
    later = RunAnalytics(tmp_path / "s.db", clock=lambda: NOW + 1.6 * DAY)
    assert later.success_rate("wf", window_days=4) == pytest.approx(0.5)
    assert later.success_rate("wf", window_days=3) == pytest.approx(1.0)
    assert later.success_rate("wf", window_days=2) == 0.0
    assert RunAnalytics(tmp_path / "s.db").success_rate("wf", 30) == 0.0  # real now: 2025 is old


def test_analytics_and_catalog_modules_import_without_pandas() -> None:
    code = ("import json, sys, engine.analytics, engine.catalog; "
            "print(json.dumps([m for m in ('pandas', 'numpy') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout) == []
