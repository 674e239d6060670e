"""Cron texts with a zone (``engine.cron``) and the misfire policies (``plan_fires``), pure:
no store, no clock. Daylight-saving days are Europe/Paris 2026-03-29 (02:00 → 03:00) and
2026-10-25 (03:00 → 02:00)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from engine import (
    CronError,
    CronSchedule,
    MisfirePolicy,
    Workflow,
    WorkflowSpec,
    WorkflowSpecError,
    WorkflowValidationError,
    scheduled_batch,
)
from engine.schedules import plan_fires
from engine.steps import Step

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> float:
    return datetime(*args, tzinfo=PARIS).timestamp()


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def walk(cron: CronSchedule, start: float, count: int) -> list[str]:
    """The next ``count`` fires after ``start`` as Paris wall times with their offsets."""
    out, at = [], start
    for _ in range(count):
        at = cron.next_after(at)
        out.append(datetime.fromtimestamp(at, PARIS).strftime("%m-%d %H:%M%z"))
    return out


# ------------------------------------------------------------------ parsing and validation
def test_the_cron_tz_prefix_sets_the_zone_and_round_trips() -> None:
    cron = CronSchedule.parse("CRON_TZ=Europe/Paris 0 6 * * *")
    assert (cron.expression, cron.timezone) == ("0 6 * * *", "Europe/Paris")
    assert str(cron) == "CRON_TZ=Europe/Paris 0 6 * * *"
    assert CronSchedule.parse(str(cron)) == cron
    assert str(CronSchedule.parse("0 6 * * *")) == "0 6 * * *"
    assert CronSchedule.parse("0 6 * * *", "Asia/Tokyo").timezone == "Asia/Tokyo"
    assert CronSchedule.parse("0 6 * * *").timezone == "UTC"


@pytest.mark.parametrize(("text", "zone", "field", "message"), [
    ("CRON_TZ=Europe/Pariss 0 6 * * *", None, "timezone", "unknown time zone 'Europe/Pariss'"),
    ("0 6 * * *", "Mars/Olympus", "timezone", "unknown time zone 'Mars/Olympus'"),
    ("CRON_TZ=Europe/Paris 0 6 * * *", "UTC", "timezone", "keep one of them"),
    ("CRON_TZ=Europe/Paris", None, "cron", "write the zone then the expression"),
    ("61 * * * *", None, "cron", "is not a valid cron expression"),
    ("every day", None, "cron", "five fields"),
    ("0 0 30 2 *", None, "cron", "never fires"),
])
def test_bad_crons_and_zones_are_clear_errors(text: str, zone: str | None, field: str,
                                              message: str) -> None:
    with pytest.raises(CronError, match=message) as caught:
        CronSchedule.parse(text, zone)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)


def test_workflows_and_yaml_accept_the_prefix_and_name_a_bad_zone() -> None:
    steps = [Step.wait("nap", 0)]
    wf = Workflow("cron.paris", steps, schedule="CRON_TZ=Europe/Paris 0 6 * * *")
    assert wf.schedule == "CRON_TZ=Europe/Paris 0 6 * * *"
    batch = scheduled_batch("cron.batch", Step.wait("nap", 0),
                            schedule="CRON_TZ=America/New_York 30 1 * * 1-5")
    assert CronSchedule.parse(batch.schedule or "").timezone == "America/New_York"
    with pytest.raises(WorkflowValidationError, match=r"'cron.bad'.*unknown time zone 'Nowhere'"):
        Workflow("cron.bad", steps, schedule="CRON_TZ=Nowhere 0 6 * * *")

    doc = ("apiVersion: spine.io/v1\nkind: Workflow\nmetadata:\n  name: cron.yaml\n"
           "spec:\n  schedule: 'CRON_TZ={zone} 0 6 * * *'\n  steps:\n"
           "    - name: nap\n      wait:\n        duration_seconds: 0\n")
    spec = WorkflowSpec.from_yaml(doc.format(zone="Europe/Paris"))
    assert spec.to_workflow().schedule == "CRON_TZ=Europe/Paris 0 6 * * *"
    with pytest.raises(WorkflowSpecError, match=r"<string>:6: spec.schedule: unknown time zone 'Nowhere'"):
        WorkflowSpec.from_yaml(doc.format(zone="Nowhere"))


# ------------------------------------------------------------------ fire times
def test_next_after_is_strictly_after_and_follows_the_zone() -> None:
    cron = CronSchedule.parse("0 6 * * *")
    assert cron.next_after(utc(2026, 12, 6, 5, 59)) == utc(2026, 12, 6, 6)
    assert cron.next_after(utc(2026, 12, 6, 6)) == utc(2026, 12, 7, 6)
    tokyo = CronSchedule("0 6 * * *", "Asia/Tokyo")
    assert tokyo.next_after(utc(2026, 12, 6)) == utc(2026, 12, 6, 21)  # 06:00 JST


def test_a_daily_job_keeps_its_wall_time_across_both_changes() -> None:
    cron = CronSchedule("0 6 * * *", "Europe/Paris")
    assert walk(cron, paris(2026, 3, 28, 12), 2) == ["03-29 06:00+0200", "03-30 06:00+0200"]
    assert walk(cron, paris(2026, 10, 24, 12), 2) == ["10-25 06:00+0100", "10-26 06:00+0100"]


def test_spring_forward_a_missing_time_fires_once_shifted_by_the_gap() -> None:
    daily = CronSchedule("30 2 * * *", "Europe/Paris")
    assert walk(daily, paris(2026, 3, 28, 12), 2) == ["03-29 03:30+0200", "03-30 02:30+0200"]
    hourly = CronSchedule("0 * * * *", "Europe/Paris")  # 02:00 does not exist: one fire at 03:00
    assert walk(hourly, paris(2026, 3, 29, 0, 30), 3) == [
        "03-29 01:00+0100", "03-29 03:00+0200", "03-29 04:00+0200"]


def test_fall_back_a_repeated_time_fires_once_at_its_first_occurrence() -> None:
    daily = CronSchedule("30 2 * * *", "Europe/Paris")
    assert walk(daily, paris(2026, 10, 24, 12), 2) == ["10-25 02:30+0200", "10-26 02:30+0100"]
    hourly = CronSchedule("0 * * * *", "Europe/Paris")
    assert walk(hourly, paris(2026, 10, 25, 1, 30), 3) == [
        "10-25 02:00+0200", "10-25 03:00+0100", "10-25 04:00+0100"]
    # from inside the repeated hour (second 02:10, CET) the next fire is 03:00 CET
    second = utc(2026, 10, 25, 1, 10)
    assert walk(hourly, second, 1) == ["10-25 03:00+0100"]


def test_latest_finds_the_most_recent_fires_oldest_first_across_a_fold() -> None:
    quarter = CronSchedule("*/15 * * * *", "Europe/Paris")
    # 01:10Z is 02:10 CET, the repeated hour: 02:15..02:45 CEST (first pass) already happened
    got = quarter.latest(utc(2026, 10, 25, 1, 10), not_before=0, count=3)
    assert got == [utc(2026, 10, 25, 0, 15), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 0, 45)]
    hourly = CronSchedule("0 * * * *")
    assert hourly.latest(utc(2026, 12, 6, 5), not_before=utc(2026, 12, 6, 3, 30), count=9) == [
        utc(2026, 12, 6, 4), utc(2026, 12, 6, 5)]
    assert hourly.latest(utc(2026, 12, 6, 5), not_before=0, count=0) == []


# ------------------------------------------------------------------ misfire policies
HOURLY = CronSchedule("0 * * * *")
DUE = utc(2026, 12, 6, 1)


@pytest.mark.parametrize("policy", list(MisfirePolicy))
def test_a_fire_within_the_grace_runs_under_every_policy(policy: MisfirePolicy) -> None:
    plan = plan_fires(HOURLY, DUE, DUE + 2.5, policy, limit=5, grace=60)
    assert plan.run == (DUE,)
    assert plan.next_fire_at == utc(2026, 12, 6, 2)
    assert not plan.dropped


def test_nothing_runs_before_the_due_time() -> None:
    plan = plan_fires(HOURLY, DUE, DUE - 1, MisfirePolicy.RUN_ALL)
    assert plan.run == () and plan.next_fire_at == DUE and not plan.dropped


def test_after_downtime_skip_runs_nothing_and_jumps_to_the_future() -> None:
    now = utc(2026, 12, 6, 5, 30)  # 01:00..05:00 were missed
    plan = plan_fires(HOURLY, DUE, now, MisfirePolicy.SKIP, limit=10, grace=60)
    assert plan.run == ()
    assert plan.next_fire_at == utc(2026, 12, 6, 6)
    assert plan.dropped


def test_after_downtime_skip_still_runs_a_time_that_is_on_time() -> None:
    now = utc(2026, 12, 6, 5, 0, 20)  # 05:00 is 20 s late: on time; 01:00..04:00 missed
    plan = plan_fires(HOURLY, DUE, now, MisfirePolicy.SKIP, grace=60)
    assert plan.run == (utc(2026, 12, 6, 5),) and plan.dropped


def test_after_downtime_run_once_runs_the_latest_missed_time() -> None:
    plan = plan_fires(HOURLY, DUE, utc(2026, 12, 6, 5, 30), MisfirePolicy.RUN_ONCE)
    assert plan.run == (utc(2026, 12, 6, 5),)
    assert plan.next_fire_at == utc(2026, 12, 6, 6)
    assert plan.dropped


def test_after_downtime_run_all_runs_each_missed_time_up_to_the_limit() -> None:
    now = utc(2026, 12, 6, 5, 30)
    every = plan_fires(HOURLY, DUE, now, MisfirePolicy.RUN_ALL, limit=10)
    assert every.run == tuple(utc(2026, 12, 6, h) for h in range(1, 6))
    assert not every.dropped
    capped = plan_fires(HOURLY, DUE, now, MisfirePolicy.RUN_ALL, limit=3)
    assert capped.run == tuple(utc(2026, 12, 6, h) for h in (3, 4, 5))  # the most recent
    assert capped.dropped and capped.next_fire_at == utc(2026, 12, 6, 6)


def test_a_month_of_downtime_is_planned_without_walking_every_minute() -> None:
    minutely = CronSchedule("* * * * *")
    plan = plan_fires(minutely, utc(2026, 11, 1), utc(2026, 12, 6, 0, 0, 30),
                      MisfirePolicy.RUN_ALL, limit=2)
    assert plan.run == (utc(2026, 12, 5, 23, 59), utc(2026, 12, 6))


def test_misfire_policy_names() -> None:
    assert MisfirePolicy.parse("run-once") is MisfirePolicy.RUN_ONCE
    assert MisfirePolicy.parse(" SKIP ") is MisfirePolicy.SKIP
    with pytest.raises(CronError, match="use one of skip, run_once, run_all") as caught:
        MisfirePolicy.parse("sometimes")
    assert caught.value.field == "misfire"
