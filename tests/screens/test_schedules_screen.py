"""The Schedules & Triggers screen over a real store: declared schedules synced from the
catalog, an API schedule, a webhook trigger and its runs; pause/resume and fire now."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from store_rows import T0, add_runs
from textual.message import Message
from textual.pilot import Pilot
from tui_harness import SIZE, drive, fixture_app, loaded, plain, wait_until

from engine import RunStore, Schedules
from engine.store import ScheduleStore
from screens import RunDetailScreen
from screens.schedules import SchedulesScreen
from spine_tui.widgets.schedules_table import format_relative

FOLDER = Path(__file__).resolve().parents[1] / "resources" / "tui_schedules"
NOW = T0 + 3 * 3600  # 2026-01-01 03:00 UTC: the declared 06:00 schedule fires in 3h


def api_schedule(db: Path, name: str = "hourly-ingest", *, enabled: bool = True,
                 clock: float | None = None) -> None:
    """An API schedule of ``sched.ingest`` stored before the app starts."""
    schedules = Schedules(db) if clock is None else Schedules(db, clock=lambda: clock)
    schedules.create(name, "sched.ingest", "0 * * * *", enabled=enabled)


def trigger_run(db: Path, run_id: str, status: str, created_at: float, **extra: Any) -> None:
    """A stored run as the webhook trigger ``sched.pushed`` would have started it."""
    add_runs(db, [{"run_id": run_id, "workflow": "sched.ingest", "status": status,
                   "created_at": created_at, **extra}])
    store = RunStore(db)
    with store.db.transaction() as conn:
        conn.execute("UPDATE runs SET started_by = 'trigger:sched.pushed' WHERE run_id = ?",
                     (run_id,))
    store.close()


async def open_schedules(pilot: Pilot[Any], count: int = 2) -> SchedulesScreen:
    await pilot.press("S")
    screen = pilot.app.screen
    assert isinstance(screen, SchedulesScreen)
    await wait_until(pilot, lambda: screen.view is not None
                     and len(screen.view.schedules) == count, what=f"{count} schedules")
    return screen


def stored(db: Path, name: str) -> Any:
    return Schedules(db).get(name)


def test_lists_declared_and_api_schedules_and_the_trigger_with_its_last_run(
        isolated_store: Path) -> None:
    api_schedule(isolated_store)
    trigger_run(isolated_store, "trig-old", "completed", T0)
    trigger_run(isolated_store, "trig-new", "failed", T0 + 60, error="no payload")

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_schedules(pilot)
        assert screen.view is not None
        assert [r.schedule.name for r in screen.view.schedules] == ["hourly-ingest",
                                                                    "sched.report"]
        assert stored(isolated_store, "sched.report").declared_in == "workflow"
        assert screen.schedules_table.row_count == 2
        assert not screen.query_one("#sched-empty").display
        [trigger] = screen.view.triggers
        assert (trigger.name, trigger.kind, trigger.workflow) == ("sched.pushed", "webhook",
                                                                  "sched.ingest")
        assert trigger.fired == 2 and trigger.last_run is not None
        assert (trigger.last_run.run_id, str(trigger.last_run.status)) == ("trig-new", "failed")
        assert "hourly-ingest" in plain(screen.query_one("#sched-details"))
        await pilot.press("tab")  # to the triggers table: its details, e and f disabled
        await wait_until(pilot, lambda: "no payload" in plain(
            screen.query_one("#sched-details")), what="the trigger's details")
        assert screen.check_action("fire", ()) is None
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RunDetailScreen),
                         what="the trigger's last run opened")
        assert pilot.app.screen.run_id == "trig-new"

    drive(fixture_app(FOLDER), scenario)


def test_e_pauses_and_space_resumes_the_highlighted_schedule(isolated_store: Path) -> None:
    api_schedule(isolated_store)

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_schedules(pilot)
        assert screen.schedules_table.highlighted_key == "hourly-ingest"
        await pilot.press("e")
        await wait_until(pilot, lambda: not stored(isolated_store, "hourly-ingest").enabled,
                         what="hourly-ingest paused in the store")
        await wait_until(pilot, lambda: screen.view is not None
                         and not screen.view.schedules[0].schedule.enabled,
                         what="the table to show it paused")
        assert "paused" in plain(screen.query_one("#sched-details"))
        await pilot.press("space")
        await wait_until(pilot, lambda: stored(isolated_store, "hourly-ingest").enabled,
                         what="hourly-ingest resumed in the store")
        assert stored(isolated_store, "sched.report").enabled  # only the highlighted one

    drive(fixture_app(FOLDER), scenario)


def test_f_fires_the_schedule_now_and_enter_opens_its_run(isolated_store: Path) -> None:
    api_schedule(isolated_store, enabled=False)  # a paused schedule fires by hand too
    messages: list[Message] = []

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_schedules(pilot)
        await pilot.press("f")
        fired = await wait_until(pilot, lambda: next(
            (m for m in messages if isinstance(m, SchedulesScreen.Fired)), None),
            what="the fire's answer")
        run_id = fired.fire.run_id
        assert run_id is not None, fired.fire.error
        store = RunStore(isolated_store)
        run = await wait_until(pilot, lambda: next(
            (r for r in store.list_runs(limit=5) if r.status == "completed"), None),
            what="the fired run to complete")
        assert (run.run_id, run.started_by, run.workflow) == (
            run_id, "schedule:hourly-ingest", "sched.ingest")
        assert any(run_id in str(n.message) for n in pilot.app._notifications)
        assert stored(isolated_store, "hourly-ingest").last_run_id == run_id
        assert not stored(isolated_store, "hourly-ingest").enabled  # firing does not resume
        await wait_until(pilot, lambda: screen.view is not None
                         and screen.view.schedules[0].last_run is not None,
                         what="the last result shown")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RunDetailScreen),
                         what="the run detail")
        assert pilot.app.screen.run_id == run_id
        store.close()

    drive(fixture_app(FOLDER), scenario, message_hook=messages.append)


def test_empty_states_say_how_to_add_a_schedule_or_trigger(tmp_path: Path) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_schedules(pilot, count=0)
        assert "schedule='0 6 * * *'" in plain(screen.query_one("#sched-empty"))
        assert "spine-engine schedules create" in plain(screen.query_one("#sched-empty"))
        assert "EventTrigger(" in plain(screen.query_one("#trig-empty"))
        assert screen.check_action("pause_resume", ()) is None
        await pilot.press("e", "f")  # nothing to act on: nothing happens, nothing breaks

    drive(fixture_app(tmp_path), scenario)


def test_relative_times() -> None:
    assert [format_relative(s) for s in (0.4, 42, -125, 3 * 3600 + 60, -2 * 86_400 - 3600)] \
        == ["now", "in 42s", "2m ago", "in 3h01m", "2d1h ago"]


def test_schedules_screen_snapshot(snap_compare: Any, isolated_store: Path) -> None:
    api_schedule(isolated_store, clock=NOW)
    api_schedule(isolated_store, "weekly-backfill", enabled=False, clock=NOW)
    add_runs(isolated_store, [{"run_id": "run-hourly-0001", "workflow": "sched.ingest",
                               "status": "completed", "created_at": NOW - 1800}])
    ScheduleStore(RunStore(isolated_store).db).record_run(
        "hourly-ingest", "run-hourly-0001", NOW - 1800, fired_at=NOW - 1800)
    trigger_run(isolated_store, "run-trig-0001", "failed", NOW - 7200,
                error="ingest: no rows in payload", error_step="ingest")

    async def open_screen(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await open_schedules(pilot, count=3)
        await loaded(pilot)

    assert snap_compare(fixture_app(FOLDER, now=NOW), terminal_size=SIZE,
                        run_before=open_screen)
