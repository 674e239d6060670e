"""``analytics``: the figures ``RunAnalytics`` computes over real runs, as text and JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine import RunAnalytics
from spine_tui.engine_cli.analytics import sparkline


@pytest.fixture
def history(cli, store_path: Path) -> Path:
    """Two completed runs of cli.complete and one run of cli.failing (DATA_QUALITY)."""
    for argv in (("cli.complete", "--paths", "good"), ("cli.complete", "--paths", "good"),
                 ("good/cli_failing.py",)):
        result = cli("run", *argv, "--quiet")
        assert result.code in (0, 1), result.err
    return store_path


def test_json_numbers_match_run_analytics(cli, history: Path) -> None:
    result = cli("analytics", "--json", "--days", "7")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    analytics = RunAnalytics(history)
    try:
        summary = analytics.summary(None, 7)
        expected_trend = {m: analytics.trending(None, m, 7)
                          for m in ("runs", "success_rate", "duration_p50", "failures")}
        slowest = analytics.slowest_steps(None, 7, limit=5)
    finally:
        analytics.store.close()
    assert data["success_rate"] == pytest.approx(2 / 3) == summary["success_rate"]
    assert data["by_status"] == {"completed": 2, "failed": 1} == summary["by_status"]
    assert data["failure_breakdown"] == {"DATA_QUALITY": 1}
    assert data["duration_seconds"] == summary["duration_seconds"]
    assert set(data["duration_seconds"]) == {"p50", "p90", "p99"}
    assert data["total_runs"] == 3 and data["window_days"] == 7
    assert data["slowest_steps"] == slowest
    assert {row["workflow"] for row in slowest} == {"cli.complete", "cli.failing"}
    assert len(data["trend"]) == 7
    for metric, points in expected_trend.items():
        assert [day[metric] for day in data["trend"]] == [p["value"] for p in points]
    assert data["trend"][-1]["date"] == datetime.now(UTC).date().isoformat()
    assert data["trend"][-1]["runs"] == 3 and data["trend"][-1]["failures"] == 1


def test_one_workflow_in_text(cli, history: Path) -> None:
    result = cli("analytics", "cli.complete", "--days", "3", "--top", "2")
    assert result.code == 0, result.err
    lines = [line.rstrip() for line in result.out.splitlines()]
    assert lines[0].startswith("analytics cli.complete  last 3 days")
    assert "runs          2 (completed 2)" in lines
    assert "success rate  100.0% of 2 finished runs" in lines
    assert "failures      none" in lines
    assert any(line.startswith("duration      p50 ") and " p99 " in line for line in lines)
    start = next(i for i, line in enumerate(lines) if line.startswith("daily trend "))
    trend = [line for line in lines[start + 1:start + 5]
             if line.startswith(("runs  ", "success  ", "failures  "))]
    assert [line.split()[:2] for line in trend] == [["runs", "▁▁█"], ["success", "█"],
                                                    ["failures", "▁▁▁"]]
    assert "slowest steps" in lines
    header = lines.index("slowest steps") + 1
    assert lines[header].split() == ["step", "runs", "avg", "max", "total"]
    assert len([line for line in lines[header + 1:] if line.strip()]) == 2


def test_all_workflows_text_shows_failures_by_category(cli, history: Path) -> None:
    result = cli("analytics")
    assert result.code == 0, result.err
    assert "success rate  66.7% of 3 finished runs" in result.out
    assert "failures      DATA_QUALITY 1" in result.out
    assert "workflow" in result.out  # the slowest steps say which workflow they belong to


def test_bad_input_exits_2(cli, history: Path, tmp_path: Path) -> None:
    result = cli("analytics", "nope")
    assert result.code == 2
    assert "no runs of workflow 'nope'" in result.err
    assert "cli.complete" in result.err and "cli.failing" in result.err
    missing = tmp_path / "missing.db"
    result = cli("analytics", "--db", str(missing))
    assert result.code == 2 and "does not exist yet" in result.err
    assert not missing.exists()
    assert cli("analytics", "--days", "0").code == 2


def test_sparkline_scales_to_the_largest_value() -> None:
    assert sparkline([0, 1, None, 4]) == "▁▃ █"
    assert sparkline([None, None]) == "  "
    assert sparkline([0, 0]) == "▁▁"
