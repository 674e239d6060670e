"""``runs --since/--until`` (durations, dates, bad values) and ``status --graph``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine import RunStore, Step, StepResult, TrackedWorkflowRunner, Workflow, WorkflowContext

DAY = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Bare dates are local time: pin the zone so the day boundaries are known."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def add_runs(path: Path, created: dict[str, float]) -> None:
    store = RunStore(path)
    with store.db.transaction() as conn:
        conn.executemany(
            "INSERT INTO runs (run_id, workflow, status, params, created_at, started_at, "
            "finished_at, duration_seconds, heartbeat_at) "
            "VALUES (?, 'cli.timed', 'completed', '{}', ?, ?, ?, 1.0, ?)",
            [(run_id, at, at, at + 1, at + 1) for run_id, at in created.items()])
    store.close()


def listed(cli: Any, *argv: str) -> list[str]:
    result = cli("runs", *argv, "--json")
    assert result.code == 0, result.err
    return [r["run_id"] for r in json.loads(result.out)["runs"]]


def test_since_a_duration_keeps_only_recent_runs(cli: Any, store_path: Path) -> None:
    now = time.time()
    add_runs(store_path, {"just-now": now - 60, "this-morning": now - 5 * 3_600,
                          "last-week": now - 6 * 86_400, "long-ago": now - 90 * 86_400})
    assert listed(cli, "--since", "1h") == ["just-now"]
    assert listed(cli, "--since", "1d") == ["just-now", "this-morning"]
    assert listed(cli, "--since", "30d", "--until", "1d") == ["last-week"]
    assert listed(cli, "--until", "30d") == ["long-ago"]
    text = cli("runs", "--since", "1d", "--limit", "1")
    assert text.code == 0 and "1 run of 2" in text.out
    empty = cli("runs", "--since", "10s")
    assert "no runs matching since=10s" in empty.out


def test_dates_cover_whole_days(cli: Any, store_path: Path) -> None:
    add_runs(store_path, {"new-year": DAY + 3_600, "next-day": DAY + 86_400 + 60,
                          "eve": DAY - 60})
    assert listed(cli, "--since", "2026-01-01", "--until", "2026-01-01") == ["new-year"]
    assert listed(cli, "--since", "2026-01-01") == ["next-day", "new-year"]
    assert listed(cli, "--until", "2026-01-01T00:00") == ["eve"]
    data = json.loads(cli("runs", "--since", "2026-01-01", "--json").out)
    assert data["since"] == "2026-01-01T00:00:00+00:00" and data["until"] is None


@pytest.mark.parametrize(("argv", "message"), [
    (("--since", "2"), "argument --since: '2' has no unit: write 2m, 2h or 2d"),
    (("--until", "soon"), "argument --until: 'soon' is not a time: use a duration like 30m"),
    (("--since", "0m"), "must be more than 0"),
    (("--since", "2026-02-30"), "'2026-02-30' is not a time"),
])
def test_bad_times_exit_2_with_what_would_do(cli: Any, argv: tuple[str, ...],
                                             message: str) -> None:
    result = cli("runs", *argv)
    assert result.code == 2
    assert "usage: spine-engine runs" in result.err and message in result.err


def test_a_reversed_window_exits_2(cli: Any) -> None:
    result = cli("runs", "--since", "1d", "--until", "3d")
    assert result.code == 2
    assert "error: --since 1d is not before --until 3d" in result.err
    assert "hint: --since starts the window" in result.err


def test_status_graph_prints_the_graph_as_it_ran(cli: Any, store_path: Path) -> None:
    def plan(ctx: WorkflowContext, config: Any) -> StepResult:
        ctx.insert_step_after("plan", Step.lambda_("audit", lambda c, f: {"ok": True}))
        return StepResult.ok()

    workflow = Workflow("cli.adaptive", [Step.lambda_("plan", plan),
                                         Step.lambda_("load", lambda c, f: {"l": 1})])
    with TrackedWorkflowRunner(store_path) as runner:
        run_id = runner.execute(workflow).run_id
    result = cli("status", run_id, "--graph")
    assert result.code == 0, result.err
    out = result.out
    assert "Graph as it ran (from the adaptive changes; 1 step added at runtime)" in out
    assert "layer 2  audit (completed, inserted)" in out
    assert "plan → audit" in out and "audit → load" in out
    assert "insert_after    by plan: +audit after plan" in out
    data = json.loads(cli("status", run_id, "--graph", "--json").out)
    assert data["graph"]["layers"] == [["plan"], ["audit"], ["load"]]
    assert data["graph"]["inserted"] == ["audit"]
    assert "graph" not in json.loads(cli("status", run_id, "--json").out)
