"""``spine-engine schedules``: create, list, pause, resume, delete, fire and sync over the
``--db`` store, with workflows written to a temporary folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import RunStore

FLOWS = (
    "from engine import Step, Workflow, scheduled_batch\n\n"
    "plain = Workflow('cli.sched_plain', [Step.wait('nap', 0)])\n"
    "batch = scheduled_batch('cli.sched_batch', Step.wait('nap', 0),\n"
    "                        schedule='CRON_TZ=Europe/Paris 0 6 * * *')\n"
)

Cli = Callable[..., Any]


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "cli_sched_flows.py").write_text(FLOWS)
    return folder


def test_create_list_pause_resume_delete(cli: Cli, flows: Path, store_path: Path) -> None:
    made = cli("schedules", "create", "nightly", "cli.sched_plain", "--cron", "30 2 * * *",
               "--timezone", "Europe/Paris", "--param", "region=eu", "--misfire", "run-all",
               "--misfire-limit", "4", "--paths", str(flows), "--json")
    assert made.code == 0, made.err
    record = json.loads(made.out)
    assert (record["action"], record["cron"], record["timezone"]) == (
        "created", "30 2 * * *", "Europe/Paris")
    assert (record["params"], record["misfire"], record["misfire_limit"]) == (
        {"region": "eu"}, "run_all", 4)

    table = cli("schedules")
    assert table.code == 0
    assert "nightly" in table.out and "30 2 * * * (Europe/Paris)" in table.out
    assert "1 schedule" in table.out

    assert cli("schedules", "pause", "nightly").code == 0
    listed = json.loads(cli("schedules", "list", "--json").out)["schedules"]
    assert [(s["name"], s["enabled"]) for s in listed] == [("nightly", False)]
    assert "paused" in cli("schedules", "list").out
    resumed = cli("schedules", "resume", "nightly")
    assert resumed.code == 0 and "next fire" in resumed.out

    deleted = cli("schedules", "delete", "nightly")
    assert deleted.code == 0 and "deleted schedule nightly" in deleted.out
    assert json.loads(cli("schedules", "list", "--json").out) == {"schedules": []}


@pytest.mark.parametrize(("argv", "message"), [
    (("--cron", "61 * * * *"), "error: --cron: '61 * * * *' is not a valid cron expression"),
    (("--cron", "0 6 * * *", "--timezone", "Mars/Olympus"),
     "error: --timezone: unknown time zone 'Mars/Olympus'"),
    (("--cron", "CRON_TZ=Mars/Olympus 0 6 * * *"), "error: --cron: unknown time zone"),
    (("--cron", "0 6 * * *", "--misfire", "later"), "error: --misfire: unknown misfire policy"),
])
def test_bad_cron_zone_or_policy_is_exit_2_naming_the_option(
        cli: Cli, flows: Path, store_path: Path, argv: tuple[str, ...], message: str) -> None:
    out = cli("schedules", "create", "bad", "cli.sched_plain", *argv, "--paths", str(flows))
    assert out.code == 2
    assert message in out.err and "hint:" in out.err
    assert not store_path.exists()  # nothing was stored, not even the file


def test_unknown_workflow_or_schedule_is_exit_2(cli: Cli, flows: Path) -> None:
    out = cli("schedules", "create", "x", "cli.nope", "--cron", "0 6 * * *",
              "--paths", str(flows))
    assert out.code == 2 and "no workflow named 'cli.nope'" in out.err
    assert "cli.sched_plain" in out.err
    for verb in ("pause", "resume", "delete", "fire"):
        gone = cli("schedules", verb, "ghost", "--paths", str(flows)) if verb == "fire" else \
            cli("schedules", verb, "ghost")
        assert gone.code == 2 and "no schedule named 'ghost'" in gone.err, verb


def test_fire_starts_a_schedule_run_now(cli: Cli, flows: Path, store_path: Path) -> None:
    assert cli("schedules", "create", "now", "cli.sched_plain", "--cron", "0 6 * * *",
               "--param", "n=3", "--paths", str(flows)).code == 0
    fired = cli("schedules", "fire", "now", "--wait", "--json", "--paths", str(flows))
    assert fired.code == 0, fired.err
    data = json.loads(fired.out)
    assert data["status"] == "completed" and data["schedule"] == "now"
    run = RunStore(store_path).get_run(data["run_id"])
    assert run.started_by == "schedule:now" and run.params["n"] == 3
    listed = json.loads(cli("schedules", "--json").out)["schedules"]
    assert listed[0]["last_run_id"] == data["run_id"]


def test_sync_adds_declared_schedules_that_cannot_be_deleted(cli: Cli, flows: Path) -> None:
    synced = cli("schedules", "sync", "--paths", str(flows), "--json")
    assert synced.code == 0, synced.err
    assert json.loads(synced.out)["created"] == ["cli.sched_batch"]
    listed = json.loads(cli("schedules", "list", "--json").out)["schedules"]
    assert [(s["name"], s["timezone"], s["declared_in"]) for s in listed] == [
        ("cli.sched_batch", "Europe/Paris", "workflow")]
    refused = cli("schedules", "delete", "cli.sched_batch")
    assert refused.code == 2 and "declared by workflow" in refused.err
    again = cli("schedules", "sync", "--paths", str(flows))
    assert again.code == 0 and "already match" in again.out


def test_listing_a_missing_store_creates_nothing(cli: Cli, store_path: Path) -> None:
    out = cli("schedules", "--json")
    assert out.code == 0 and json.loads(out.out) == {"schedules": []}
    assert not store_path.exists()
