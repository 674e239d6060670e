"""``spine-engine triggers``: list declared triggers, and fire one by hand into the run store."""

from __future__ import annotations

import json
from pathlib import Path

from engine import RunStore

TRIGGERS = Path(__file__).resolve().parent.parent / "resources" / "triggers"
GOOD, BAD = str(TRIGGERS / "good"), str(TRIGGERS / "bad")
PUSH = json.dumps({"ref": "refs/heads/main", "after": "abc123",
                   "repository": {"full_name": "acme/app"}})


def test_triggers_lists_every_declared_trigger(cli) -> None:
    result = cli("triggers", "--paths", GOOD)
    assert result.code == 0
    for text in ("trig.github_push", "/hooks/github, signed with $TRIG_TEST_SECRET",
                 "trig.new_csv", "inbox (*.csv)", "trig.deploy_hook",
                 "$.ref == 'refs/heads/main'", "5 triggers"):
        assert text in result.out


def test_triggers_json_has_kinds_details_and_load_errors(cli) -> None:
    result = cli("triggers", "--paths", GOOD, BAD, "--json")
    assert result.code == 0
    data = json.loads(result.out)
    by_name = {t["name"]: t for t in data["triggers"]}
    assert by_name["trig.github_push"] == {
        "name": "trig.github_push", "kind": "webhook",
        "detail": "/hooks/github, signed with $TRIG_TEST_SECRET", "workflow": "trig.ci",
        "param_mapping": {"commit": "$.after", "repo": "$.repository.full_name"},
        "filter": "$.ref == 'refs/heads/main'", "enabled": True}
    assert by_name["trig.new_object"]["kind"] == "poll"
    assert by_name["trig.new_object"]["enabled"] is False
    [error] = data["errors"]
    assert error["error_type"] == "TriggerWorkflowError"
    assert error["path"].endswith("trig_elsewhere.py")


def test_fire_starts_the_run_and_prints_its_id(cli, store_path: Path) -> None:
    result = cli("triggers", "fire", "trig.github_push", "--paths", GOOD, "--event", PUSH)
    assert result.code == 0, result.err
    [record] = RunStore(store_path).list_runs()
    assert f"run {record.run_id}  trig.ci started by trigger:trig.github_push" in result.out
    assert '"commit": "abc123"' in result.out
    assert "trig.ci completed" in result.out
    assert record.started_by == "trigger:trig.github_push"
    assert record.params == {"commit": "abc123", "repo": "acme/app"}


def test_fire_json_and_an_event_file_and_db_after_the_command(cli, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(PUSH)
    db = tmp_path / "other.db"
    result = cli("triggers", "fire", "trig.github_push", "--event", f"@{event}", "--paths",
                 GOOD, "--db", str(db), "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["fired"] is True and data["status"] == "completed"
    assert data["params"] == {"commit": "abc123", "repo": "acme/app"}
    assert RunStore(db).get_run(data["run_id"]).started_by == "trigger:trig.github_push"


def test_fire_says_why_nothing_started(cli, store_path: Path) -> None:
    other = json.dumps({"ref": "refs/heads/dev"})
    result = cli("triggers", "fire", "trig.github_push", "--paths", GOOD, "--event", other)
    assert result.code == 0
    assert "not fired: the filter \"$.ref == 'refs/heads/main'\" did not match" in result.out
    result = cli("triggers", "fire", "trig.paused_push", "--paths", GOOD, "--event", PUSH,
                 "--json")
    assert json.loads(result.out) == {"fired": False, "trigger": "trig.paused_push",
                                      "reason": "the trigger is disabled"}
    assert not store_path.exists() or RunStore(store_path).list_runs() == []


def test_fire_refuses_bad_events_with_a_hint(cli, tmp_path: Path) -> None:
    cases = [("{not json", "--event is not valid JSON"),
             ("[1, 2]", "--event must be a JSON object, got list"),
             (f"@{tmp_path / 'missing.json'}", "cannot read the event file")]
    for event, message in cases:
        result = cli("triggers", "fire", "trig.github_push", "--paths", GOOD, "--event", event)
        assert result.code == 2
        assert f"error: {message}" in result.err
        assert "hint: " in result.err


def test_fire_unknown_trigger_or_failing_filter_exits_2(cli) -> None:
    result = cli("triggers", "fire", "nope", "--paths", GOOD, "--event", "{}")
    assert result.code == 2
    assert "no trigger named 'nope'" in result.err
    assert "`spine-engine triggers` lists the triggers" in result.err
    result = cli("triggers", "fire", "trig.deploy_hook", "--paths", GOOD, "--event",
                 json.dumps({"env": "prod", "services": 3}))
    assert result.code == 2
    assert "trigger 'trig.deploy_hook': filter" in result.err


def test_help_lists_the_command(cli) -> None:
    assert "triggers" in cli("--help").out
    result = cli("triggers", "fire", "--help")
    assert result.code == 0 and "started_by=trigger:NAME" in result.out
