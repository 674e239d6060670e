"""``spine-engine dlq``: listing, showing, replaying (runs recorded in the store, waited for)
and purging dead letters, and the bad input that exits 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from engine import DLQManager, RunStore
from spine_tui.engine_cli.dlq import parse_age

FLOWS = Path(__file__).resolve().parents[1] / "resources" / "resilience"
T0 = 1_700_000_000.0  # in the past: --older-than counts from the real clock

Cli = Callable[..., object]


def add(store: Path, queue: str = "bad", payload: object = None, **fields: object) -> int:
    item = DLQManager(store, clock=lambda: T0).add(queue, payload if payload is not None
                                                   else {"id": 1}, **fields)  # type: ignore
    return item.id


def test_list_without_a_store_lists_nothing_and_creates_no_file(cli: Cli,
                                                                store_path: Path) -> None:
    outcome = cli("dlq", "--json")
    assert outcome.code == 0 and json.loads(outcome.out) == {"dead_letters": []}
    assert not store_path.exists()


def test_list_shows_pending_items_with_their_error(cli: Cli, store_path: Path) -> None:
    add(store_path, "bad", {"id": 1}, error="record 1: amount missing",
        error_category="DATA_QUALITY", workflow="selfheal.ingest", step="validate")
    add(store_path, "other", {"id": 2})
    outcome = cli("dlq", "list", "--queue", "bad")
    assert outcome.code == 0
    assert "selfheal.ingest" in outcome.out and "[DATA_QUALITY] record 1: amount missing" in \
        outcome.out
    assert "1 item" in outcome.out and "other" not in outcome.out
    data = json.loads(cli("dlq", "--json").out)
    assert [(d["queue"], d["status"], d["payload"]) for d in data["dead_letters"]] == [
        ("bad", "pending", {"id": 1}), ("other", "pending", {"id": 2})]


def test_show_prints_the_whole_payload(cli: Cli, store_path: Path) -> None:
    item = add(store_path, payload={"id": 9, "rows": list(range(30))}, error="boom")
    outcome = cli("dlq", "show", str(item))
    assert outcome.code == 0 and '"rows": [' in outcome.out and "29" in outcome.out
    assert json.loads(cli("dlq", "show", str(item), "--json").out)["payload"]["id"] == 9
    missing = cli("dlq", "show", "404")
    assert missing.code == 2 and "no dead letter with id 404" in missing.err


def test_replay_runs_each_item_through_a_workflow_and_marks_it(cli: Cli,
                                                              store_path: Path) -> None:
    first = add(store_path, payload={"id": 1})
    second = add(store_path, payload={"id": 2, "amount": 4.0})
    outcome = cli("dlq", "replay", "bad", "--workflow", "res.repair", "--paths", str(FLOWS))
    assert outcome.code == 0, outcome.err
    assert f"✓ dead letter {first}: run" in outcome.out and "completed" in outcome.out
    manager = DLQManager(store_path)
    runs = [manager.get(i).replay_run_id for i in (first, second)]
    store = RunStore(store_path)
    try:
        assert [store.outputs(r)["repair"] for r in runs if r] == [
            {"id": 1, "amount": 1.5}, {"id": 2, "amount": 4.0}]
        assert {store.get_run(r).started_by for r in runs if r} == {"cli"}
    finally:
        store.close()
    again = cli("dlq", "replay", str(first), "--workflow", "res.repair", "--paths", str(FLOWS))
    assert again.code == 2 and f"dead letter {first} is replayed" in again.err


def test_replay_defaults_to_the_workflow_the_item_failed_in(cli: Cli, store_path: Path) -> None:
    item = add(store_path, payload={"id": 5}, workflow="res.repair")
    outcome = cli("dlq", "replay", str(item), "--paths", str(FLOWS), "--json")
    [replay] = json.loads(outcome.out)["replays"]
    assert outcome.code == 0 and replay["ok"] and replay["id"] == item
    orphan = add(store_path, payload={"id": 6})
    outcome = cli("dlq", "replay", str(orphan), "--paths", str(FLOWS))
    assert outcome.code == 2 and "names no workflow" in outcome.err and "--workflow" in \
        outcome.err


def test_a_replay_whose_run_fails_exits_1_and_keeps_the_item(cli: Cli,
                                                            store_path: Path) -> None:
    item = add(store_path)
    outcome = cli("dlq", "replay", str(item), "--workflow", "res.reject", "--paths", str(FLOWS))
    assert outcome.code == 1
    assert "still no amount; it stays pending" in outcome.out
    back = DLQManager(store_path).get(item)
    assert (back.status, back.attempts, back.error_category) == ("pending", 1, "DATA_QUALITY")


def test_replay_refuses_an_unknown_workflow_before_running_anything(cli: Cli,
                                                                   store_path: Path) -> None:
    item = add(store_path)
    outcome = cli("dlq", "replay", "bad", "--workflow", "no.such", "--paths", str(FLOWS))
    assert outcome.code == 2 and "no workflow named 'no.such'" in outcome.err
    assert DLQManager(store_path).get(item).attempts == 0


def test_purge_needs_a_filter_and_is_soft(cli: Cli, store_path: Path) -> None:
    kept = add(store_path, "keep")
    gone = add(store_path, "drop")
    refused = cli("dlq", "purge")
    assert refused.code == 2 and "pass --all" in refused.err
    assert cli("dlq", "purge", "drop").out.strip() == "purged 1 item"
    assert [d["id"] for d in json.loads(cli("dlq", "--json").out)["dead_letters"]] == [kept]
    listed = json.loads(cli("dlq", "--all", "--json").out)["dead_letters"]
    assert [(d["id"], d["status"]) for d in listed] == [(kept, "pending"), (gone, "purged")]
    assert json.loads(cli("dlq", "purge", "--older-than", "1d", "--json").out) == {"purged": 1}
    assert json.loads(cli("dlq", "purge", "--all", "--json").out) == {"purged": 0}


def test_bad_input_exits_2(cli: Cli, store_path: Path) -> None:
    assert cli("dlq", "purge", "--older-than", "soon").code == 2
    outcome = cli("dlq", "replay", "7", "--workflow", "res.repair", "--paths", str(FLOWS))
    assert outcome.code == 2 and "does not exist yet" in outcome.err
    assert not store_path.exists()


@pytest.mark.parametrize(("text", "seconds"), [("90", 90.0), ("30s", 30.0), ("15m", 900.0),
                                               ("12h", 43200.0), ("7d", 604800.0),
                                               ("2w", 1209600.0), ("1.5h", 5400.0)])
def test_ages(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


def test_the_command_runs_as_a_real_process(run_module: Callable[..., object],
                                            store_path: Path) -> None:
    add(store_path, payload={"id": 3}, workflow="res.repair")
    outcome = run_module("dlq", "replay", "bad", "--paths", str(FLOWS))
    assert outcome.code == 0, outcome.err  # type: ignore[attr-defined]
    assert DLQManager(store_path).list() == []
