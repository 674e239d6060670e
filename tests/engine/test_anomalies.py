"""Anomalies over a real store file: recorded (inside a step they name their run and step),
filtered, resolved once, and refused when their category, severity or details are bad."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine import (
    AnomalyCategory,
    AnomalyRecorder,
    Severity,
    Step,
    UnknownAnomalyError,
    Workflow,
    WorkflowRunner,
)

T0 = 1_800_000_000.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def default_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "spine.db"
    monkeypatch.setenv("SPINE_DB", str(path))
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def recorder(default_store: Path, clock: Clock) -> AnomalyRecorder:
    return AnomalyRecorder(default_store, clock=clock)


def test_recorded_anomalies_are_listed_newest_first_and_filtered(recorder: AnomalyRecorder,
                                                                 clock: Clock) -> None:
    first = recorder.record(AnomalyCategory.QUALITY_GATE, Severity.WARN, "null rate 35%",
                            details={"null_rate": 0.35, "threshold": 0.25}, run_id="r1",
                            workflow="wf", step="load")
    clock.now += 1
    second = recorder.record("network", "error", "API returned 429")
    clock.now += 1
    third = recorder.record("DATA_QUALITY", "warning", "row count dropped 30%",
                            workflow="wf")
    assert (first.category, first.severity, first.details, first.created_at) == (
        "QUALITY_GATE", "WARN", {"null_rate": 0.35, "threshold": 0.25}, T0)
    assert (first.run_id, first.workflow, first.step) == ("r1", "wf", "load")
    assert [a.id for a in recorder.list()] == [third.id, second.id, first.id]
    assert [a.id for a in recorder.list(severity=Severity.WARN)] == [third.id, first.id]
    assert [a.id for a in recorder.list(category="network")] == [second.id]
    assert [a.id for a in recorder.list(workflow="wf", limit=1)] == [third.id]
    assert [a.id for a in recorder.list(since=T0 + 1)] == [third.id, second.id]
    assert recorder.get(second.id) == second


def test_resolving_marks_it_handled_once(recorder: AnomalyRecorder, clock: Clock) -> None:
    anomaly = recorder.record("TIMEOUT", "CRITICAL", "data arrived 6 hours late")
    clock.now += 60
    resolved = recorder.resolve(anomaly.id)
    assert resolved.resolved and resolved.resolved_at == T0 + 60
    clock.now += 60
    assert recorder.resolve(anomaly.id).resolved_at == T0 + 60  # the first time stays
    assert recorder.list(unresolved_only=True) == []
    assert [a.id for a in recorder.list()] == [anomaly.id]  # never deleted
    with pytest.raises(UnknownAnomalyError, match="no anomaly with id 404"):
        recorder.resolve(404)


def test_inside_a_step_an_anomaly_names_its_run_workflow_and_step(
        recorder: AnomalyRecorder) -> None:
    def check(ctx: Any, config: Any) -> dict:
        anomaly = AnomalyRecorder().record("DATA_QUALITY", "WARN", "2% rows quarantined")
        return {"anomaly": anomaly.id}

    inner = Workflow("anomaly.inner", [Step.lambda_("check", check)])
    outer = Workflow("anomaly.outer", [
        Step.map("each", "$.params.items", [Step.lambda_("check", check)]),
        Step.lambda_("after", check)])
    WorkflowRunner().execute(inner)
    result = WorkflowRunner().execute(outer, {"items": [{"n": 1}]})
    by_id = {a.id: a for a in recorder.list()}
    mapped = by_id[result.outputs["each"]["results"][0]["anomaly"]]
    after = by_id[result.outputs["after"]["anomaly"]]
    assert (mapped.workflow, mapped.step) == ("anomaly.outer", "each[0].check")
    assert (after.run_id, after.workflow, after.step) == (result.run_id, "anomaly.outer",
                                                          "after")


def test_bad_input_says_what_is_allowed(recorder: AnomalyRecorder) -> None:
    with pytest.raises(ValueError, match="unknown severity 'loud'; use one of DEBUG, INFO"):
        recorder.record("NETWORK", "loud", "x")
    with pytest.raises(ValueError, match="unknown anomaly category 'weird'; use one of"):
        recorder.record("weird", "INFO", "x")
    with pytest.raises(ValueError, match="needs a message"):
        recorder.record("NETWORK", "INFO", " ")
    with pytest.raises(ValueError, match=r"details\.when is a object"):
        recorder.record("NETWORK", "INFO", "x", details={"when": object()})
    assert recorder.list() == []
