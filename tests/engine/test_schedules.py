"""Schedules over a real store file: creating and changing them, declared schedules synced from
a catalog, and the loop firing runs with a fake clock (exactly once, even with two loops)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from waits import wait_until

from engine import (
    Catalog,
    CronError,
    DiscoveredWorkflow,
    RunStore,
    ScheduleError,
    ScheduleFire,
    ScheduleLoop,
    Schedules,
    Step,
    Workflow,
    discover,
    scheduled_batch,
)
from engine.store import ScheduleExistsError, UnknownScheduleError

T0 = datetime(2026, 12, 6, 5, 59, 30, tzinfo=UTC).timestamp()
SIX = datetime(2026, 12, 6, 6, tzinfo=UTC).timestamp()
DAY = 86_400.0


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def flow(name: str, schedule: str | None = None) -> Workflow:
    return Workflow(name, [Step.wait("nap", 0)], schedule=schedule)


def catalog_of(*workflows: Workflow, errors: tuple = ()) -> Catalog:
    return Catalog(tuple(DiscoveredWorkflow(w, "registry", "registry") for w in workflows),
                   errors)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    """A store file; every run a test's loops started has ended (thread too) at teardown."""
    before = {t.ident for t in threading.enumerate()}
    yield tmp_path / "spine.db"
    wait_until(lambda: not [t for t in threading.enumerate() if t.ident not in before
                            and t.name.startswith("spine-run-")], what="scheduled runs to end")


def ended(fires: list[ScheduleFire]) -> list[ScheduleFire]:
    for fire in fires:
        if fire.handle is not None:
            fire.handle.wait(20)
    return fires


# ------------------------------------------------------------------ managing schedules
def test_create_pause_resume_delete(db: Path) -> None:
    clock = Clock()
    schedules = Schedules(db, clock=clock)
    made = schedules.create("nightly", "sched.a", "0 6 * * *", timezone="Europe/Paris",
                            params={"region": "eu"}, misfire="run-all", misfire_limit=3)
    assert (made.cron, made.timezone, made.params) == ("0 6 * * *", "Europe/Paris",
                                                       {"region": "eu"})
    assert (made.misfire, made.misfire_limit, made.declared_in) == ("run_all", 3, "api")
    assert made.next_fire == datetime(2026, 12, 7, 5, tzinfo=UTC)  # 06:00 CET, T0 is 06:59 CET
    assert [r.name for r in schedules.list_schedules()] == ["nightly"]

    assert not schedules.pause("nightly").enabled
    clock.now += 3 * DAY  # a pause is not a misfire: resume plans from now
    resumed = schedules.resume("nightly")
    assert resumed.enabled and resumed.next_fire == datetime(2026, 12, 10, 5, tzinfo=UTC)
    assert schedules.delete("nightly").name == "nightly"
    assert schedules.list_schedules() == []
    with pytest.raises(UnknownScheduleError, match="no schedule named 'nightly'"):
        schedules.get("nightly")


def test_create_refuses_bad_input_naming_the_field(db: Path) -> None:
    schedules = Schedules(db)
    schedules.create("taken", "sched.a", "0 6 * * *")
    with pytest.raises(ScheduleExistsError):
        schedules.create("taken", "sched.a", "0 7 * * *")
    for kwargs, error, field in (
            ({"name": "has space"}, ScheduleError, "name"),
            ({"cron": "0 6 * *"}, CronError, "cron"),
            ({"cron": "CRON_TZ=Atlantis/Deep 0 6 * * *"}, CronError, "timezone"),
            ({"misfire": "later"}, CronError, "misfire"),
            ({"misfire_limit": 0}, ScheduleError, "misfire_limit"),
            ({"params": {"when": object()}}, ScheduleError, "params")):
        args = {"name": "fresh", "workflow": "sched.a", "cron": "0 6 * * *", **kwargs}
        with pytest.raises(error) as caught:
            schedules.create(**args)
        assert caught.value.field == field
    assert [r.name for r in schedules.list_schedules()] == ["taken"]


# ------------------------------------------------------------------ declared schedules
def test_declared_schedules_follow_the_catalog(db: Path) -> None:
    clock = Clock()
    schedules = Schedules(db, clock=clock)
    batch = scheduled_batch("sched.batch", Step.wait("nap", 0),
                            schedule="CRON_TZ=Europe/Paris 0 6 * * *")
    report = schedules.sync_declared(catalog_of(batch, flow("sched.plain")))
    assert report.created == ("sched.batch",)
    row = schedules.get("sched.batch")
    assert (row.workflow, row.cron, row.timezone, row.declared_in) == (
        "sched.batch", "0 6 * * *", "Europe/Paris", "workflow")
    with pytest.raises(ScheduleError, match="declared by workflow 'sched.batch'"):
        schedules.delete("sched.batch")

    schedules.pause("sched.batch")  # an unchanged declaration keeps the pause
    assert schedules.sync_declared(catalog_of(batch)) == type(report)()
    assert not schedules.get("sched.batch").enabled
    moved = scheduled_batch("sched.batch", Step.wait("nap", 0), schedule="0 7 * * *")
    assert schedules.sync_declared(catalog_of(moved)).updated == ("sched.batch",)
    assert (schedules.get("sched.batch").cron, schedules.get("sched.batch").timezone) == (
        "0 7 * * *", "UTC")

    # a file broken mid-edit (the catalog has errors) keeps its workflow's schedule
    assert schedules.sync_declared(catalog_of(errors=("broken.py",))).removed == ()
    assert schedules.sync_declared(catalog_of(flow("sched.batch"))).removed == ("sched.batch",)
    assert schedules.list_schedules() == []


def test_an_api_schedule_holding_a_workflows_name_wins(db: Path) -> None:
    schedules = Schedules(db)
    schedules.create("sched.dup", "sched.other", "*/5 * * * *")
    report = schedules.sync_declared(catalog_of(flow("sched.dup", "0 6 * * *")))
    assert report.conflicts == ("sched.dup",) and report.created == ()
    assert schedules.get("sched.dup").cron == "*/5 * * * *"
    assert schedules.sync_declared(catalog_of()).removed == ()  # API rows are never removed


def test_a_yaml_schedule_appears_after_sync(db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "nightly.yaml").write_text(
        "apiVersion: spine.io/v1\nkind: Workflow\nmetadata:\n  name: sched.yaml_nightly\n"
        "spec:\n  schedule: 'CRON_TZ=Asia/Tokyo 30 2 * * *'\n  steps:\n"
        "    - name: nap\n      wait:\n        duration_seconds: 0\n")
    loop = ScheduleLoop(db, lambda: discover([folder]), clock=Clock())
    assert loop.sync_declared().created == ("sched.yaml_nightly",)
    row = loop.store.get("sched.yaml_nightly")
    assert (row.cron, row.timezone, row.declared_in) == ("30 2 * * *", "Asia/Tokyo", "workflow")


# ------------------------------------------------------------------ the loop
def test_a_due_schedule_fires_once_as_a_schedule_run(db: Path) -> None:
    clock = Clock()
    loop = ScheduleLoop(db, lambda: catalog_of(flow("sched.a")), clock=clock)
    loop.schedules.create("six", "sched.a", "0 6 * * *", params={"region": "eu"})
    assert loop.tick() == []  # 05:59:30, not due yet

    clock.now = SIX + 0.4
    fires = ended(loop.tick())
    assert [(f.schedule, f.scheduled_at, f.error) for f in fires] == [("six", SIX, None)]
    assert loop.tick() == [] and loop.tick(SIX + 30) == []  # claimed: it runs once

    run = RunStore(db).get_run(fires[0].run_id or "")
    assert run.started_by == "schedule:six" and run.status.value == "completed"
    assert run.partition_key == '{"schedule":"six","scheduled_at":"2026-12-06T06:00:00+00:00"}'
    assert run.params == {"region": "eu", "schedule": "six",
                          "scheduled_at": "2026-12-06T06:00:00+00:00"}
    row = loop.store.get("six")
    assert (row.last_fire_at, row.last_run_id, row.next_fire_at) == (SIX, run.run_id, SIX + DAY)


def test_run_all_catches_up_missed_times_oldest_first(db: Path) -> None:
    clock = Clock(SIX - 60)
    loop = ScheduleLoop(db, lambda: catalog_of(flow("sched.a")), clock=clock)
    loop.schedules.create("hourly", "sched.a", "0 * * * *", misfire="run_all", misfire_limit=3)
    clock.now = SIX + 5 * 3600 + 600  # down from 06:00 to 11:10
    fires = ended(loop.tick())
    assert [f.scheduled_at for f in fires] == [SIX + h * 3600 for h in (3, 4, 5)]
    runs = RunStore(db).list_runs(workflow="sched.a")
    assert sorted(r.params["scheduled_at"][11:16] for r in runs) == ["09:00", "10:00", "11:00"]
    assert loop.store.get("hourly").next_fire_at == SIX + 6 * 3600


def test_two_loops_on_one_store_fire_each_time_once(db: Path) -> None:
    names = [f"s{i:02d}" for i in range(20)]
    catalog = catalog_of(flow("sched.a"))
    setup = Schedules(db, clock=Clock())
    for name in names:
        setup.create(name, "sched.a", "0 6 * * *")
    loops = [ScheduleLoop(db, lambda: catalog, clock=Clock(SIX + 1)) for _ in range(2)]
    assert loops[0].store.db is not loops[1].store.db  # two connections, as two servers
    start = threading.Barrier(2)
    fired: list[list[ScheduleFire]] = [[], []]

    def tick(i: int) -> None:
        start.wait()
        fired[i] = loops[i].tick()

    threads = [threading.Thread(target=tick, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    fires = ended(fired[0] + fired[1])
    assert sorted(f.schedule for f in fires) == names  # each exactly once, across both
    assert all(f.run_id for f in fires)
    runs = RunStore(db).list_runs(workflow="sched.a", limit=100)
    assert sorted((r.started_by or "")[9:] for r in runs) == names


def test_an_unknown_workflow_or_refused_start_is_reported_and_the_loop_goes_on(
        db: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    not_runnable = SimpleNamespace(name="sched.refused", schedule=None)  # not a Workflow
    catalog = Catalog((DiscoveredWorkflow(flow("sched.a"), "registry", "registry"),
                       DiscoveredWorkflow(not_runnable, "registry", "registry")))  # type: ignore[arg-type]
    loop = ScheduleLoop(db, lambda: catalog, clock=clock)
    for name, workflow in (("gone", "sched.gone"), ("refused", "sched.refused"),
                           ("ok", "sched.a")):
        loop.schedules.create(name, workflow, "0 6 * * *")
    clock.now = SIX + 1
    with caplog.at_level(logging.ERROR, logger="engine.schedules"):
        fires = {f.schedule: f for f in ended(loop.tick())}
    assert "workflow 'sched.gone' is not in the catalog" in (fires["gone"].error or "")
    assert "the run was refused" in (fires["refused"].error or "")
    assert fires["ok"].run_id and fires["ok"].ok
    assert "sched.gone" in caplog.text and "refused" in caplog.text
    assert loop.last_fires["gone"].error == fires["gone"].error
    assert loop.store.get("gone").next_fire_at == SIX + DAY  # at most once: not retried


def test_a_failing_catalog_callable_does_not_stop_the_tick(
        db: Path, caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> Catalog:
        raise RuntimeError("catalog unavailable")

    clock = Clock()
    loop = ScheduleLoop(db, broken, clock=clock)
    loop.schedules.create("six", "sched.a", "0 6 * * *")
    clock.now = SIX + 1
    with caplog.at_level(logging.ERROR, logger="engine.schedules"):
        fires = loop.tick()
    assert [f.schedule for f in fires] == ["six"] and fires[0].run_id is None
    assert "catalog unavailable" in caplog.text


def test_fire_now_starts_a_run_without_moving_the_timetable(db: Path) -> None:
    clock = Clock()
    loop = ScheduleLoop(db, lambda: catalog_of(flow("sched.a")), clock=clock)
    loop.schedules.create("later", "sched.a", "0 6 * * *", enabled=False)
    fire = loop.fire_now("later")
    ended([fire])
    row = loop.store.get("later")
    assert fire.scheduled_at == T0 and row.last_run_id == fire.run_id
    assert row.next_fire_at == SIX and not row.enabled
    assert RunStore(db).get_run(fire.run_id or "").started_by == "schedule:later"
    with pytest.raises(UnknownScheduleError):
        loop.fire_now("nope")


def test_the_loop_syncs_declared_schedules_when_the_catalog_changes(db: Path) -> None:
    clock = Clock()
    current = [catalog_of(flow("sched.d", "0 6 * * *"))]
    loop = ScheduleLoop(db, lambda: current[0], clock=clock)
    clock.now = SIX - 1  # the first tick creates the schedule: its next fire is 06:00
    assert loop.tick() == []
    clock.now = SIX + 1
    fires = ended(loop.tick())
    assert [(f.schedule, f.workflow) for f in fires] == [("sched.d", "sched.d")]
    current[0] = catalog_of(flow("sched.d"))
    loop.tick()
    assert loop.store.find("sched.d") is None


def test_a_running_loop_fires_on_its_thread_and_stops(db: Path) -> None:
    clock = Clock()
    seen: list[ScheduleFire] = []
    loop = ScheduleLoop(db, lambda: catalog_of(flow("sched.a")), clock=clock,
                        interval=0.05, on_fire=seen.append)
    loop.schedules.create("six", "sched.a", "0 6 * * *")
    stop = threading.Event()
    thread = loop.start(stop)
    clock.now = SIX + 0.5
    wait_until(lambda: seen, what="the loop to fire")
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert [f.schedule for f in ended(seen)] == ["six"]
