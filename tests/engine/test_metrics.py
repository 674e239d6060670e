"""Metrics: ``counter``/``gauge``/``histogram`` inside steps, the store's own run, step and error
metrics, all read back through prometheus-client's own text-format parser."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from waits import wait_until

from engine import (
    METRICS_CONTENT_TYPE,
    ManagedWorkflow,
    MetricError,
    RunControl,
    RunStatus,
    RunStore,
    Step,
    StepResult,
    TrackedWorkflowRunner,
    Workflow,
    counter,
    gauge,
    histogram,
    metrics_text,
    start_run,
    workflow_step,
)
from engine.metrics import DURATION_BUCKETS


def parse(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Every sample of ``text`` (parsed by prometheus-client): name -> sorted labels -> value."""
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = (
                sample.value)
    return samples


def value(samples: dict[str, dict[Any, float]], name: str, **labels: str) -> float:
    return samples[name][tuple(sorted(labels.items()))]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    opened = RunStore(tmp_path / "spine.db")
    yield opened
    opened.close()


# ------------------------------------------------------------------ custom metrics in steps
def transform(record: Any) -> Any:
    return record


@workflow_step(name="process_batch")
def process_batch(records: list) -> dict:  # type: ignore[type-arg]
    """Spec §15a, with only the import changed."""
    from engine import counter, histogram

    counter("records_processed", len(records), tags={"domain": "sec"})
    histogram("batch_size", len(records))

    processed = [transform(r) for r in records]
    return {"count": len(processed)}


def test_the_spec_example_records_its_metrics(store: RunStore) -> None:
    before = parse(metrics_text(store, process=True))
    processed = before.get("records_processed_total", {}).get((("domain", "sec"),), 0.0)
    batches = before.get("batch_size_count", {}).get((), 0.0)
    flow = ManagedWorkflow("metrics.spec").step("process", process_batch)
    assert flow.run({"records": list(range(120))}).status is RunStatus.COMPLETED

    after = parse(metrics_text(store, process=True))
    assert value(after, "records_processed_total", domain="sec") == processed + 120
    assert value(after, "batch_size_count") == batches + 1
    assert value(after, "batch_size_bucket", le="250.0") >= 1  # 120 fits the default buckets


def test_counter_gauge_and_histogram_with_tags(store: RunStore) -> None:
    def step() -> dict[str, Any]:
        counter("t_rows_loaded", 3, tags={"table": "trades"})
        counter("t_rows_loaded", tags={"table": "trades"})
        counter("t_rows_loaded", 2, tags={"table": "quotes"})
        gauge("t_queue_depth", 7, tags={"queue": "ingest"})
        gauge("t_queue_depth", 4, tags={"queue": "ingest"})
        for took in (0.02, 0.3, 4.0):
            histogram("t_fetch_seconds", took, tags={"source": "edgar"},
                      buckets=(0.1, 1.0, 10.0))
        return {}

    flow = ManagedWorkflow("metrics.custom").step("work", step)
    assert flow.run().status is RunStatus.COMPLETED
    samples = parse(metrics_text(store, process=True))
    assert value(samples, "t_rows_loaded_total", table="trades") == 4
    assert value(samples, "t_rows_loaded_total", table="quotes") == 2
    assert value(samples, "t_queue_depth", queue="ingest") == 4
    assert value(samples, "t_fetch_seconds_bucket", source="edgar", le="0.1") == 1
    assert value(samples, "t_fetch_seconds_bucket", source="edgar", le="1.0") == 2
    assert value(samples, "t_fetch_seconds_bucket", source="edgar", le="+Inf") == 3
    assert value(samples, "t_fetch_seconds_sum", source="edgar") == pytest.approx(4.32)
    assert "t_rows_loaded_total" not in parse(metrics_text(store))  # the store's view only


@pytest.mark.parametrize("call, message", [
    (lambda: counter("spine_workflow_runs", 1), "the engine's own"),
    (lambda: counter("2fast", 1), "not valid"),
    (lambda: counter("t_bad_tag", 1, tags={"__reserved": "x"}), "not a valid label"),
    (lambda: histogram("t_le_tag", 1, tags={"le": "x"}), "not a valid label"),
    (lambda: counter("t_negative", -1), "counter 't_negative'"),
])
def test_bad_metric_calls_say_what_is_wrong(call: Any, message: str) -> None:
    with pytest.raises(MetricError, match=message.replace("(", r"\(")):
        call()


def test_a_metric_keeps_its_type_and_tag_keys() -> None:
    counter("t_fixed", 1, tags={"a": "1"})
    with pytest.raises(MetricError, match="is a counter; it cannot be used as a gauge"):
        gauge("t_fixed", 1, tags={"a": "1"})
    with pytest.raises(MetricError, match=r"has tags \['a'\]; got \['b'\]"):
        counter("t_fixed", 1, tags={"b": "1"})


# ------------------------------------------------------------------ the store's metrics
def _fail(ctx: Any, config: dict[str, Any]) -> StepResult:
    return StepResult.fail("no data", category="DATA_QUALITY")


def _ok(ctx: Any, config: dict[str, Any]) -> StepResult:
    return StepResult.ok({"n": 1})


def test_runs_steps_and_errors_from_the_store(store: RunStore) -> None:
    good = Workflow("metrics.good", [Step.lambda_("load", _ok), Step.lambda_("save", _ok)])
    bad = Workflow("metrics.bad", [Step.lambda_("load", _ok), Step.lambda_("check", _fail)])
    with TrackedWorkflowRunner(store) as runner:
        for _ in range(3):
            runner.execute(good)
        for _ in range(2):
            runner.execute(bad)
    text = metrics_text(store)
    assert text.startswith("# HELP spine_workflow_duration_seconds")
    samples = parse(text)
    assert value(samples, "spine_workflow_duration_seconds_count", workflow="metrics.good",
                 status="completed") == 3
    assert value(samples, "spine_workflow_duration_seconds_count", workflow="metrics.bad",
                 status="failed") == 2
    assert value(samples, "spine_workflow_runs_total", workflow="metrics.good",
                 status="completed") == 3
    assert value(samples, "spine_workflow_step_duration_seconds_count", workflow="metrics.bad",
                 step="check") == 2
    assert value(samples, "spine_workflow_steps_total", workflow="metrics.bad", step="check",
                 status="failed") == 2
    assert value(samples, "spine_workflow_steps_total", workflow="metrics.bad", step="load",
                 status="completed") == 2
    assert value(samples, "spine_workflow_error_total", workflow="metrics.bad",
                 category="DATA_QUALITY") == 2
    assert ("category", "DATA_QUALITY") not in {
        pair for labels in samples["spine_workflow_error_total"] for pair in labels
        if ("workflow", "metrics.good") in labels}
    assert value(samples, "spine_alerts", status="pending") == 0
    good_sum = value(samples, "spine_workflow_duration_seconds_sum", workflow="metrics.good",
                     status="completed")
    stored = sum(r.duration_seconds or 0 for r in store.list_runs("metrics.good"))
    assert good_sum == pytest.approx(stored)


def test_histogram_buckets_hold_each_duration_where_it_belongs(store: RunStore) -> None:
    conn = sqlite3.connect(store.path)
    durations = [0.005, 0.2, 2.0, 45.0, 7200.0]
    now = time.time()
    conn.executemany(
        "INSERT INTO runs (run_id, workflow, status, created_at, duration_seconds) "
        "VALUES (?, 'seeded', 'completed', ?, ?)",
        [(f"r{i}", now, d) for i, d in enumerate(durations)])
    conn.executemany(
        "INSERT INTO step_runs (run_id, step, workflow, status, duration_seconds) "
        "VALUES (?, ?, 'seeded', 'completed', ?)",
        [(f"r{i}", f"fan[{i}].each", d) for i, d in enumerate(durations)])
    conn.execute("INSERT INTO runs (run_id, workflow, status, created_at) "
                 "VALUES ('live', 'seeded', 'running', ?)", (now,))
    conn.commit()
    conn.close()
    samples = parse(metrics_text(store))
    for bound in DURATION_BUCKETS:
        expected = sum(d <= bound for d in durations)
        assert value(samples, "spine_workflow_duration_seconds_bucket", workflow="seeded",
                     status="completed", le=str(float(bound))) == expected
        assert value(samples, "spine_workflow_step_duration_seconds_bucket", workflow="seeded",
                     step="fan[*].each", le=str(float(bound))) == expected  # items folded
    assert value(samples, "spine_workflow_duration_seconds_bucket", workflow="seeded",
                 status="completed", le="+Inf") == 5
    assert value(samples, "spine_workflow_runs_active", workflow="seeded", status="running") == 1
    assert (("status", "running"), ("workflow", "seeded")) not in samples[
        "spine_workflow_runs_total"]


def test_a_run_waiting_for_approval_counts_as_active(store: RunStore) -> None:
    wf = Workflow("metrics.gate", [Step.approval("ok")])
    with TrackedWorkflowRunner(store, poll_interval=0.05) as runner:
        handle = start_run(wf, runner=runner)
        wait_until(lambda: store.get_run(handle.run_id).status is RunStatus.WAITING,
                   what="the run waiting")
        samples = parse(metrics_text(store))
        assert value(samples, "spine_workflow_runs_active", workflow="metrics.gate",
                     status="waiting") == 1
        RunControl(store).approve(handle.run_id, "ok", by="ann")
        handle.wait(30)
    samples = parse(metrics_text(store))
    assert value(samples, "spine_workflow_runs_total", workflow="metrics.gate",
                 status="completed") == 1


def test_the_content_type_is_the_prometheus_text_format() -> None:
    assert METRICS_CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"
