"""The dead-letter queue over a real store file: adding (inside a step it knows where it came
from), listing, replaying through a function or a workflow run (claimed once, even by racing
threads), purging (soft), and the M1 sample (the spec's own M1 is run by
test_spec_examples)."""

from __future__ import annotations

import importlib.util
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine import (
    AnomalyRecorder,
    CircuitState,
    DLQError,
    DLQManager,
    ErrorCategory,
    RetryPolicy,
    RunStatus,
    Step,
    Workflow,
    WorkflowRunner,
    list_breakers,
)
from engine.store import RunStore, UnknownDeadLetterError

FLOWS = Path(__file__).resolve().parents[1] / "resources" / "resilience" / "dlq_flows.py"
T0 = 1_800_000_000.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def default_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A manager without a store uses ``$SPINE_DB``: each test gets its own file."""
    path = tmp_path / "spine.db"
    monkeypatch.setenv("SPINE_DB", str(path))
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dlq(default_store: Path, clock: Clock) -> DLQManager:
    return DLQManager(default_store, clock=clock)


def flows() -> Any:
    spec = importlib.util.spec_from_file_location("dlq_flows", FLOWS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- add, list
def test_items_keep_payload_error_and_origin_in_queue_order(dlq: DLQManager,
                                                            clock: Clock) -> None:
    first = dlq.add("bad", {"id": 1}, error="no amount", error_category="data_quality",
                    run_id="r1", workflow="wf", step="validate")
    clock.now += 1
    dlq.add_to_dlq("bad", [1, 2], error=KeyError("amount"))  # the spec's name
    dlq.add("other", "x", error=ConnectionError("down"))
    assert (first.payload, first.error, first.error_category, first.status) == (
        {"id": 1}, "no amount", "DATA_QUALITY", "pending")
    assert (first.run_id, first.workflow, first.step, first.created_at) == (
        "r1", "wf", "validate", T0)
    items = dlq.list("bad")
    assert [i.payload for i in items] == [{"id": 1}, [1, 2]]
    assert items[1].error == "KeyError: 'amount'"
    assert len(dlq.list()) == 3 and dlq.queues() == {"bad": 2, "other": 1}
    assert dlq.get(first.id) == first


def test_an_exception_with_a_category_gives_it(dlq: DLQManager) -> None:
    class Throttled(Exception):
        category = ErrorCategory.TRANSIENT

    assert dlq.add("q", {}, error=Throttled("slow down")).error_category == "TRANSIENT"


def test_bad_input_is_refused_with_what_to_do(dlq: DLQManager) -> None:
    with pytest.raises(DLQError, match=r"payload\.when is a object, which JSON cannot hold"):
        dlq.add("q", {"when": object()})
    with pytest.raises(DLQError, match="non-empty name"):
        dlq.add(" ", {})
    with pytest.raises(UnknownDeadLetterError, match="no dead letter with id 99"):
        dlq.get(99)
    with pytest.raises(DLQError, match="older_than must not be negative"):
        dlq.purge(older_than=-1)


def test_inside_a_step_the_item_names_its_run_workflow_and_step(dlq: DLQManager) -> None:
    def quarantine(ctx: Any, config: Any) -> dict:
        return {"id": DLQManager().add("bad", {"row": 3}, error="no amount").id}

    wf = Workflow("dlq.scoped", [Step.lambda_("check", quarantine, timeout_seconds=5)])
    result = WorkflowRunner().execute(wf)  # a timed step runs on a helper thread
    item = dlq.get(result.outputs["check"]["id"])
    assert (item.run_id, item.workflow, item.step) == (result.run_id, "dlq.scoped", "check")
    assert dlq.add("bad", {}).run_id is None  # outside any step


def test_building_a_manager_touches_no_file_until_it_is_used(tmp_path: Path) -> None:
    path = tmp_path / "later.db"
    manager = DLQManager(path)
    assert not path.exists()
    assert manager.list() == [] and path.exists()


# --------------------------------------------------------------------------- replay
def test_replay_through_a_function_marks_it_replayed_or_hands_it_back(dlq: DLQManager) -> None:
    good = dlq.add("q", {"n": 1})
    bad = dlq.add("q", {"n": 0})
    seen: list[Any] = []

    def handler(payload: Any) -> None:
        seen.append(payload)
        if payload["n"] == 0:
            raise ZeroDivisionError("n is 0")

    replays = dlq.replay("q", handler)
    assert seen == [{"n": 1}, {"n": 0}]
    assert [(r.letter_id, r.ok, r.error) for r in replays] == [
        (good.id, True, None), (bad.id, False, "ZeroDivisionError: n is 0")]
    assert dlq.get(good.id).status == "replayed" and dlq.get(good.id).attempts == 1
    back = dlq.get(bad.id)
    assert (back.status, back.attempts, back.error) == ("pending", 1, "ZeroDivisionError: n is 0")
    assert [i.id for i in dlq.list("q")] == [bad.id]
    assert [i.id for i in dlq.list("q", include_replayed=True)] == [good.id, bad.id]
    with pytest.raises(DLQError, match=f"dead letter {good.id} was replayed already"):
        dlq.replay(good.id, handler)


def test_replay_through_a_workflow_starts_a_stored_run_with_the_payload_as_params(
        dlq: DLQManager, default_store: Path) -> None:
    module = flows()
    item = dlq.add("bad", {"id": 7}, workflow="ingest")
    [replay] = dlq.replay(item.id, module.repair_flow, started_by="cli", wait=True)
    assert replay.ok and replay.run_id is not None
    stored = dlq.get(item.id)
    assert (stored.status, stored.replay_run_id, stored.attempts) == (
        "replayed", replay.run_id, 1)
    store = RunStore(default_store)
    try:
        run = store.get_run(replay.run_id)
        assert (run.workflow, run.params, run.status, run.started_by) == (
            "res.repair", {"id": 7}, RunStatus.COMPLETED, "cli")
        assert store.outputs(replay.run_id)["repair"] == {"id": 7, "amount": 1.5}
    finally:
        store.close()


def test_a_waited_replay_whose_run_fails_hands_the_item_back(dlq: DLQManager) -> None:
    item = dlq.add("bad", "not a mapping")
    [replay] = dlq.replay("bad", flows().reject_flow, wait=True)
    assert not replay.ok and replay.run_id is not None
    back = dlq.get(item.id)
    assert (back.status, back.attempts, back.error_category) == ("pending", 1, "DATA_QUALITY")
    assert back.error == f"run {replay.run_id} failed: step 'reject' failed: still no amount"


def test_a_replay_that_cannot_start_keeps_the_item(dlq: DLQManager) -> None:
    item = dlq.add("bad", {})
    [replay] = dlq.replay(item.id, "no.such.workflow")
    assert not replay.ok and "no.such.workflow" in (replay.error or "")
    assert dlq.get(item.id).status == "pending"


def test_racing_replayers_take_each_item_once(dlq: DLQManager) -> None:
    ids = [dlq.add("race", {"n": n}).id for n in range(40)]
    handled: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def handler(payload: Any) -> None:
        with lock:
            handled.append(payload["n"])

    def replayer() -> None:
        start.wait()
        DLQManager(dlq.store_path).replay("race", handler)

    threads = [threading.Thread(target=replayer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(handled) == list(range(40))
    assert {dlq.get(i).status for i in ids} == {"replayed"}


def test_replay_takes_an_id_or_a_queue_and_a_function_or_workflow(dlq: DLQManager) -> None:
    with pytest.raises(DLQError, match="an item id or a queue name"):
        dlq.replay(True, print)
    with pytest.raises(DLQError, match="through a function or a workflow"):
        dlq.replay("q", 42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- purge
def test_purge_is_a_soft_delete_by_queue_age_or_id(dlq: DLQManager, clock: Clock) -> None:
    old = dlq.add("a", 1)
    clock.now += 3600
    new_a = dlq.add("a", 2)
    b = dlq.add("b", 3)
    assert dlq.purge("a", older_than=timedelta(minutes=30)) == 1
    assert dlq.get(old.id).status == "purged" and dlq.get(old.id).purged_at == clock.now
    assert dlq.purge(ids=[b.id, 12345]) == 1
    assert [i.id for i in dlq.list()] == [new_a.id]
    assert [i.status for i in dlq.list(include_purged=True)] == ["purged", "pending", "purged"]
    with pytest.raises(DLQError, match=f"dead letter {old.id} was purged"):
        dlq.replay(old.id, print)
    assert dlq.purge() == 1 and dlq.list() == []
    assert dlq.purge() == 0


# --------------------------------------------------------------------------- M1
def m1() -> Any:
    from sample_workflows import m1_self_healing_dlq

    return m1_self_healing_dlq


def test_m1_sample_quarantines_bad_records_and_records_the_incident(
        default_store: Path) -> None:
    sample = m1()
    result = WorkflowRunner().execute(sample.wf)
    assert result.status is RunStatus.COMPLETED, result.error
    batch = sample.fetch_batch(None)
    bad = [r for r in batch if r["amount"] is None]
    assert len(batch) == 500 and len(bad) == 10  # 2%
    assert result.outputs["validate"] == {"valid": 490, "quarantined": 10,
                                          "quality_score": 0.98, "queue": sample.QUARANTINE}
    report = result.outputs["post_mortem"]
    assert (report["incident_created"], report["severity"], report["auto_retry_eligible"]) == (
        True, "P4", True)
    items = DLQManager().list(sample.QUARANTINE)
    assert [i.payload for i in items] == bad
    assert {(i.run_id, i.workflow, i.step, i.error_category) for i in items} == {
        (result.run_id, "selfheal.ingest", "validate", "DATA_QUALITY")}
    [anomaly] = AnomalyRecorder().list()
    assert anomaly.id == report["anomaly_id"]
    assert (anomaly.category, anomaly.severity, anomaly.step, anomaly.run_id) == (
        "DATA_QUALITY", "WARN", "post_mortem", result.run_id)
    assert [b.name for b in list_breakers()] == ["data_api"]

    replays = DLQManager().replay(sample.QUARANTINE, sample.reprocess, wait=True)
    assert [r.ok for r in replays] == [True] * 10
    assert DLQManager().list(sample.QUARANTINE) == []


def test_m1_sample_opens_its_breaker_when_the_data_api_is_down() -> None:
    sample = m1()
    fast = RetryPolicy(max_attempts=5, initial_delay_seconds=0)
    wf = Workflow("m1.fast", [sample.wf.steps[0].with_changes(retry_policy=fast)])
    result = WorkflowRunner().execute(wf, {"data_api_url": "http://127.0.0.1:9/records"})
    step = result.steps["fetch"]
    assert step.attempts == 5 and step.error_category == "DEPENDENCY"
    assert sample.api_circuit.state is CircuitState.OPEN
    refused = AnomalyRecorder().list(category="DEPENDENCY")
    assert len(refused) == 2 and {a.step for a in refused} == {"fetch"}  # attempts 4 and 5
