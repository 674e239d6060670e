"""The since/until parser shared by ``spine-engine runs`` and the runs screen, and the
``until`` bound of the store's run filter."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine import RunStore
from engine.store.runs import run_filter
from engine.store.time_window import (
    TimeWindow,
    TimeWindowError,
    parse_duration,
    resolve_bound,
)
from engine.store.views import count_runs

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Bare dates are local time: pin the zone so the expected numbers hold anywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("15m", 900), ("2h", 7_200), ("3d", 259_200), ("1w", 604_800),
    ("1h30m", 5_400), ("1.5h", 5_400), (" 2H ", 7_200)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert resolve_bound(text, NOW) == NOW - seconds


@pytest.mark.parametrize("text", ["", "2", "h", "2x", "1h30", "-2h", "yesterday"])
def test_non_durations(text: str) -> None:
    assert parse_duration(text) is None


def test_dates_and_times() -> None:
    day = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
    assert resolve_bound("2026-03-01T00:00:00+00:00", NOW) == day
    assert resolve_bound("2026-03-01T08:30Z", NOW) == day + 8.5 * 3_600
    assert resolve_bound("now", NOW) == NOW
    # a bare date as "until" covers the whole day
    assert resolve_bound("2026-03-01T00:00Z", NOW, end_of_day=True) == day


def test_naive_times_are_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Etc/GMT-2")  # two hours ahead of UTC
    time.tzset()
    assert resolve_bound("2026-03-01", NOW) == datetime(2026, 2, 28, 22,
                                                        tzinfo=UTC).timestamp()
    assert resolve_bound("2026-03-01 06:00", NOW, end_of_day=True) == datetime(
        2026, 3, 1, 4, tzinfo=UTC).timestamp()  # a time, not a bare date: as written
    assert resolve_bound("2026-03-01", NOW, end_of_day=True) == datetime(
        2026, 3, 1, 22, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("text", "message"), [
    ("2", "has no unit: write 2m, 2h or 2d"),
    ("0h", "must be more than 0"),
    ("soon", "is not a time: use a duration like 30m"),
    ("2026-13-01", "is not a time"),
    ("  ", "empty time"),
])
def test_bad_bounds_say_what_would_do(text: str, message: str) -> None:
    with pytest.raises(TimeWindowError, match=message):
        resolve_bound(text, NOW)


def test_windows_parse_ranges_and_label_themselves() -> None:
    assert TimeWindow.parse("") == TimeWindow() and TimeWindow().is_open
    assert TimeWindow.parse("1h").bounds(NOW) == (NOW - 3_600, None)
    assert TimeWindow.parse("1h").label == "last hour"
    assert TimeWindow.parse("7d").label == "last 7 days"
    window = TimeWindow.parse("2026-03-01..2026-03-02")
    start = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
    assert window.bounds(NOW) == (start, start + 2 * 86_400)
    assert window.label == "2026-03-01 → 2026-03-02"
    assert TimeWindow.parse("3d..1d").label == "3d ago → 1d ago"
    assert TimeWindow.parse("..1d").bounds(NOW) == (None, NOW - 86_400)
    assert TimeWindow.parse("2d..").label == "last 2d"
    for text in ("", "2h", "3d..1d", "..1d", "2026-01-01..2026-01-31"):
        assert TimeWindow.parse(text).text == text
    with pytest.raises(TimeWindowError, match="is not before until"):
        TimeWindow.parse("1d..3d")
    with pytest.raises(TimeWindowError, match="has no unit"):
        TimeWindow(since="5")


def test_run_filter_until_is_exclusive_and_backward_compatible(tmp_path: Path) -> None:
    assert run_filter("wf", None, 10.0) == (" WHERE workflow = ? AND created_at >= ?",
                                            ["wf", 10.0])
    assert run_filter(until=20.0) == (" WHERE created_at < ?", [20.0])
    store = RunStore(tmp_path / "spine.db")
    with store.db.transaction() as conn:
        conn.executemany(
            "INSERT INTO runs (run_id, workflow, status, params, created_at, heartbeat_at) "
            "VALUES (?, 'wf', 'completed', '{}', ?, ?)",
            [(f"r{i}", NOW - i * 3_600, NOW) for i in range(5)])
    hour_ago = NOW - 3_600
    assert [r.run_id for r in store.list_runs(since=NOW - 2 * 3_600, until=hour_ago)] == ["r2"]
    assert count_runs(store, since=NOW - 2 * 3_600) == 3
    assert count_runs(store, until=hour_ago) == 3
    store.close()
