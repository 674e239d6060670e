"""``WorkflowRunner``: ordering, concurrency, retries, timeouts, failure policies, cancel, events."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from engine import (
    ErrorCategory,
    ErrorPolicy,
    Event,
    ExecutionMode,
    ManagedWorkflow,
    RetryPolicy,
    RunFinished,
    RunStarted,
    RunStatus,
    Step,
    StepFinished,
    StepResult,
    StepRetrying,
    StepStarted,
    UnknownPipelineError,
    Workflow,
    WorkflowExecutionPolicy,
    WorkflowRunner,
    register_pipeline,
    unregister_pipeline,
)

BARRIER_TIMEOUT = 5.0


def parallel(max_concurrency: int = 4, on_failure: ErrorPolicy = ErrorPolicy.STOP
             ) -> WorkflowExecutionPolicy:
    return WorkflowExecutionPolicy(mode=ExecutionMode.PARALLEL, max_concurrency=max_concurrency,
                                   on_failure=on_failure)


def sequential(on_failure: ErrorPolicy = ErrorPolicy.STOP) -> WorkflowExecutionPolicy:
    return WorkflowExecutionPolicy(mode=ExecutionMode.SEQUENTIAL, on_failure=on_failure)


class Tracker:
    """Handlers that record the order they ran in and how many ran at once."""

    def __init__(self, barrier: threading.Barrier | None = None, linger: float = 0.0) -> None:
        self.lock = threading.Lock()
        self.barrier = barrier
        self.linger = linger
        self.active = 0
        self.max_active = 0
        self.order: list[str] = []

    def handler(self, name: str, output: dict[str, Any] | None = None
                ) -> Callable[[Any, Any], dict[str, Any]]:
        def run(ctx: Any, config: Any) -> dict[str, Any]:
            with self.lock:
                self.active += 1
                self.max_active = max(self.max_active, self.active)
                self.order.append(name)
            try:
                if self.barrier is not None:
                    self.barrier.wait()
                if self.linger:
                    time.sleep(self.linger)  # room for a step over the limit to show up
            finally:
                with self.lock:
                    self.active -= 1
            return dict(output or {})

        return run

    def step(self, name: str, depends_on: list[str] | None = None, **kwargs: Any) -> Step:
        return Step.lambda_(name, self.handler(name), depends_on=depends_on, **kwargs)


def fail(ctx: Any, config: Any) -> StepResult:
    return StepResult.fail(config.get("message", "broken"), category=config.get("category",
                                                                            "INTERNAL"))


def failing(name: str, depends_on: list[str] | None = None, **kwargs: Any) -> Step:
    return Step.lambda_(name, fail, depends_on=depends_on, **kwargs)


class Flaky:
    """Fails ``failures`` times with ``category``, then succeeds."""

    def __init__(self, failures: int, category: str = "TRANSIENT") -> None:
        self.failures = failures
        self.category = category
        self.calls = 0

    def __call__(self, ctx: Any, config: Any) -> StepResult:
        self.calls += 1
        if self.calls <= self.failures:
            return StepResult.fail(f"attempt {self.calls} failed", category=self.category)
        return StepResult.ok({"calls": self.calls})


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self.lock:
            self.events.append(event)

    def kinds(self) -> list[tuple[str, str]]:
        return [(type(e).__name__, getattr(e, "step", "")) for e in self.events]


def statuses(result: Any) -> dict[str, str]:
    return {name: step.status.value for name, step in result.steps.items()}


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """An event slow handlers wait on; set at teardown so no thread outlives the test."""
    event = threading.Event()
    yield event
    event.set()


# --------------------------------------------------------------------------- ordering
def test_sequential_runs_in_declaration_order_one_at_a_time() -> None:
    tracker = Tracker()
    names = ["e", "d", "c", "b", "a"]
    wf = Workflow("seq", [tracker.step(n, depends_on=[]) for n in names])
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.COMPLETED
    assert tracker.order == names
    assert tracker.max_active == 1
    assert list(result.steps) == names


def test_sequential_respects_forward_dependencies() -> None:
    tracker = Tracker()
    wf = Workflow("fwd", [tracker.step("load", depends_on=["extract"]),
                          tracker.step("extract", depends_on=[])])
    WorkflowRunner().execute(wf)
    assert tracker.order == ["extract", "load"]


def test_outputs_flow_to_later_steps_and_into_the_result() -> None:
    def produce(ctx: Any, config: Any) -> dict[str, Any]:
        return {"rows": 3}

    def consume(rows: int) -> dict[str, Any]:
        return {"doubled": rows * 2}

    wf = Workflow("flow", [Step.lambda_("produce", produce), Step.from_function("consume", consume)])
    result = WorkflowRunner().execute(wf)
    assert result.outputs == {"produce": {"rows": 3}, "consume": {"doubled": 6}}
    assert result.steps["consume"].attempts == 1
    assert result.completed_steps == ["produce", "consume"]


def test_two_parallel_roots_really_run_at_the_same_time() -> None:
    tracker = Tracker(threading.Barrier(2, timeout=BARRIER_TIMEOUT))
    wf = Workflow("par", [tracker.step("a", depends_on=[]), tracker.step("b", depends_on=[])],
                  execution_policy=parallel(max_concurrency=2))
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.COMPLETED, result.error
    assert tracker.max_active == 2


def test_parallel_honours_max_concurrency() -> None:
    tracker = Tracker(threading.Barrier(2, timeout=BARRIER_TIMEOUT), linger=0.02)
    roots = [tracker.step(f"r{i}", depends_on=[]) for i in range(6)]
    wf = Workflow("limited", roots, execution_policy=parallel(max_concurrency=2))
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.COMPLETED, result.error
    assert tracker.max_active == 2
    assert sorted(tracker.order) == [f"r{i}" for i in range(6)]


def test_parallel_runs_dependents_only_after_their_dependencies() -> None:
    tracker = Tracker()
    wf = Workflow("diamond", [
        tracker.step("a", depends_on=[]),
        tracker.step("b", depends_on=["a"]),
        tracker.step("c", depends_on=["a"]),
        tracker.step("d", depends_on=["b", "c"]),
    ], execution_policy=parallel())
    result = WorkflowRunner().execute(wf)
    assert result.succeeded
    assert tracker.order[0] == "a" and tracker.order[-1] == "d"
    assert sorted(tracker.order[1:3]) == ["b", "c"]


# --------------------------------------------------------------------------- retries
def test_retry_with_exponential_backoff_until_success() -> None:
    flaky = Flaky(2)
    policy = RetryPolicy(max_attempts=3, initial_delay_seconds=0.001, backoff_multiplier=3.0)
    wf = Workflow("retry", [Step.lambda_("s", flaky, on_error=ErrorPolicy.RETRY,
                                         retry_policy=policy)])
    recorder = Recorder()
    result = WorkflowRunner(listeners=[recorder]).execute(wf)
    assert result.succeeded
    assert result.steps["s"].attempts == 3 and result.outputs["s"] == {"calls": 3}
    retries = [e for e in recorder.events if isinstance(e, StepRetrying)]
    assert [e.attempt for e in retries] == [2, 3]
    assert [e.delay_seconds for e in retries] == pytest.approx([0.001, 0.003])
    assert retries[0].error == "attempt 1 failed" and retries[0].category == "TRANSIENT"
    starts = [e.attempt for e in recorder.events if isinstance(e, StepStarted)]
    assert starts == [1, 2, 3]


def test_retries_stop_at_max_attempts() -> None:
    flaky = Flaky(10)
    wf = Workflow("retry", [Step.lambda_("s", flaky, on_error=ErrorPolicy.RETRY,
                                         retry_policy=RetryPolicy(max_attempts=4,
                                                                  initial_delay_seconds=0))])
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.FAILED
    assert flaky.calls == 4 and result.steps["s"].attempts == 4
    assert result.steps["s"].error == "attempt 4 failed"


def test_only_retryable_categories_are_retried() -> None:
    policy = RetryPolicy(max_attempts=5, initial_delay_seconds=0,
                         retryable_categories=(ErrorCategory.TRANSIENT, "timeout"))
    quality = Flaky(1, category="DATA_QUALITY")
    transient = Flaky(1, category="TRANSIENT")
    wf = Workflow("cats", [
        Step.lambda_("quality", quality, on_error=ErrorPolicy.RETRY, retry_policy=policy,
                     depends_on=[]),
        Step.lambda_("transient", transient, on_error=ErrorPolicy.RETRY, retry_policy=policy,
                     depends_on=[]),
    ], execution_policy=sequential(on_failure=ErrorPolicy.CONTINUE))
    result = WorkflowRunner().execute(wf)
    assert quality.calls == 1 and result.steps["quality"].status is RunStatus.FAILED
    assert result.steps["quality"].error_category == "DATA_QUALITY"
    assert transient.calls == 2 and result.steps["transient"].status is RunStatus.COMPLETED
    assert policy.retryable_categories == ("TRANSIENT", "TIMEOUT")


def test_error_details_of_an_earlier_attempt_do_not_leak_into_the_last() -> None:
    calls = []

    def handler(ctx: Any, config: Any) -> StepResult:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("reset by peer")
        return StepResult.fail("bad rows", category="DATA_QUALITY")

    wf = Workflow("leak", [Step.lambda_("s", handler, on_error=ErrorPolicy.RETRY,
                                        retry_policy=RetryPolicy(max_attempts=2,
                                                                 initial_delay_seconds=0))])
    step = WorkflowRunner().execute(wf).steps["s"]
    assert step.error == "bad rows" and step.error_category == "DATA_QUALITY"
    assert step.error_type is None and step.traceback is None


def test_retry_policy_delay_is_capped_and_validated() -> None:
    policy = RetryPolicy(initial_delay_seconds=1, backoff_multiplier=10, max_delay_seconds=50)
    assert [policy.delay_before(a) for a in (2, 3, 4)] == [1, 10, 50]
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="backoff_multiplier"):
        RetryPolicy(backoff_multiplier=0.5)


# --------------------------------------------------------------------------- timeouts
def test_step_over_its_timeout_fails_with_timeout_category(release: threading.Event) -> None:
    def slow(ctx: Any, config: Any) -> None:
        release.wait(BARRIER_TIMEOUT)

    wf = Workflow("slow", [Step.lambda_("s", slow, timeout_seconds=0.05),
                           Step.lambda_("after", slow)])
    result = WorkflowRunner().execute(wf)
    step = result.steps["s"]
    assert step.status is RunStatus.FAILED
    assert step.error_category == "TIMEOUT"
    assert step.error_type == "StepTimeoutError"
    assert "exceeded its timeout of 0.05s" in step.error
    assert result.steps["after"].status is RunStatus.SKIPPED


def test_step_within_its_timeout_returns_normally_and_errors_keep_their_type() -> None:
    def quick(ctx: Any, config: Any) -> dict[str, int]:
        return {"x": 1}

    def broken(ctx: Any, config: Any) -> None:
        raise KeyError("col")

    wf = Workflow("quick", [Step.lambda_("ok", quick, timeout_seconds=30),
                            Step.lambda_("bad", broken, timeout_seconds=30)])
    result = WorkflowRunner().execute(wf)
    assert result.outputs["ok"] == {"x": 1}
    bad = result.steps["bad"]
    assert bad.error_type == "KeyError" and bad.error_category == "INTERNAL"
    assert "in broken" in (bad.traceback or "")


def test_timeouts_are_retried_when_timeout_is_retryable(release: threading.Event) -> None:
    calls = []

    def slow_then_fast(ctx: Any, config: Any) -> dict[str, int]:
        calls.append(1)
        if len(calls) == 1:
            release.wait(BARRIER_TIMEOUT)
        return {"calls": len(calls)}

    policy = RetryPolicy(max_attempts=2, initial_delay_seconds=0, retryable_categories=("TIMEOUT",))
    wf = Workflow("t", [Step.lambda_("s", slow_then_fast, timeout_seconds=0.05,
                                     on_error=ErrorPolicy.RETRY, retry_policy=policy)])
    result = WorkflowRunner().execute(wf)
    assert result.succeeded and result.steps["s"].attempts == 2
    assert result.steps["s"].error_type is None


# --------------------------------------------------------------------------- failure policy
def test_stop_skips_everything_after_the_failure() -> None:
    tracker = Tracker()
    wf = Workflow("stop", [tracker.step("a"), failing("b"), tracker.step("c"),
                           tracker.step("d", depends_on=[])])
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.FAILED
    assert result.error_step == "b" and result.error == "step 'b' failed: broken"
    assert statuses(result) == {"a": "completed", "b": "failed", "c": "skipped", "d": "skipped"}
    assert result.steps["d"].error == "not run: step 'b' failed"
    assert tracker.order == ["a"]
    assert result.failed_steps == ["b"]


def test_continue_policy_step_failure_does_not_stop_the_run() -> None:
    tracker = Tracker()
    wf = Workflow("cont", [failing("a", on_error=ErrorPolicy.CONTINUE), tracker.step("b")])
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.COMPLETED
    assert statuses(result) == {"a": "failed", "b": "completed"}
    assert result.error is None and tracker.order == ["b"]
    assert "a" not in result.outputs


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_on_failure_continue_runs_independent_branches(mode: str) -> None:
    tracker = Tracker()
    policy = (parallel(max_concurrency=1, on_failure=ErrorPolicy.CONTINUE) if mode == "parallel"
              else sequential(on_failure=ErrorPolicy.CONTINUE))
    wf = Workflow("branches", [
        failing("a", depends_on=[]),
        tracker.step("b", depends_on=[]),
        tracker.step("a2", depends_on=["a"]),
        tracker.step("a3", depends_on=["a2"]),
        tracker.step("b2", depends_on=["b"]),
    ], execution_policy=policy)
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.FAILED and result.error_step == "a"
    assert statuses(result) == {"a": "failed", "b": "completed", "a2": "skipped",
                                "a3": "skipped", "b2": "completed"}
    assert result.steps["a2"].error == "not run: upstream step 'a' did not complete"
    assert result.steps["a3"].error == "not run: upstream step 'a2' did not complete"
    assert sorted(tracker.order) == ["b", "b2"]


def slow_fail(ctx: Any, config: Any) -> StepResult:
    time.sleep(0.05)  # let the scheduler queue the other ready steps first
    return StepResult.fail("broken")


def test_parallel_stop_starts_nothing_new_after_a_failure() -> None:
    tracker = Tracker()
    wf = Workflow("halt", [Step.lambda_("a", slow_fail, depends_on=[]),
                           tracker.step("b", depends_on=[]),
                           tracker.step("c", depends_on=[])],
                  execution_policy=parallel(max_concurrency=1))
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.FAILED
    assert statuses(result) == {"a": "failed", "b": "skipped", "c": "skipped"}
    assert tracker.order == []


def test_skipped_result_does_not_block_dependents() -> None:
    tracker = Tracker()
    wf = Workflow("skip", [Step.lambda_("a", lambda ctx, config: StepResult.skip("no new data")),
                           tracker.step("b")])
    result = WorkflowRunner().execute(wf)
    assert result.succeeded
    assert result.steps["a"].status is RunStatus.SKIPPED
    assert result.steps["a"].error == "no new data"
    assert tracker.order == ["b"]


# --------------------------------------------------------------------------- cancel
def test_cancel_event_stops_the_remaining_steps() -> None:
    cancel = threading.Event()
    tracker = Tracker()

    def cancel_now(ctx: Any, config: Any) -> None:
        cancel.set()

    wf = Workflow("cancel", [tracker.step("a"), Step.lambda_("b", cancel_now), tracker.step("c"),
                             tracker.step("d", depends_on=[])])
    result = WorkflowRunner().execute(wf, cancel=cancel)
    assert result.status is RunStatus.CANCELLED
    assert statuses(result) == {"a": "completed", "b": "completed", "c": "cancelled",
                                "d": "cancelled"}
    assert result.steps["c"].error_category == "CANCELLED"
    assert tracker.order == ["a"]


def test_cancel_before_start_runs_nothing() -> None:
    cancel = threading.Event()
    cancel.set()
    tracker = Tracker()
    wf = Workflow("cancel", [tracker.step("a"), tracker.step("b")], execution_policy=parallel())
    result = WorkflowRunner().execute(wf, cancel=cancel)
    assert result.status is RunStatus.CANCELLED
    assert set(statuses(result).values()) == {"cancelled"}
    assert tracker.order == []


def test_cancel_in_parallel_mode_starts_no_queued_step() -> None:
    cancel = threading.Event()
    tracker = Tracker()

    def cancel_now(ctx: Any, config: Any) -> None:
        time.sleep(0.05)  # let the scheduler queue the other ready steps first
        cancel.set()

    wf = Workflow("cancel", [Step.lambda_("a", cancel_now, depends_on=[]),
                             tracker.step("b", depends_on=[]), tracker.step("c", depends_on=["a"])],
                  execution_policy=parallel(max_concurrency=1))
    result = WorkflowRunner().execute(wf, cancel=cancel)
    assert result.status is RunStatus.CANCELLED
    assert statuses(result) == {"a": "completed", "b": "cancelled", "c": "cancelled"}
    assert tracker.order == []


# --------------------------------------------------------------------------- events
def test_events_arrive_in_order_with_their_fields() -> None:
    recorder = Recorder()
    tracker = Tracker()
    wf = Workflow("ev", [tracker.step("a"), failing("b")], version=4)
    result = WorkflowRunner(listeners=[recorder]).execute(wf, {"p": 1}, run_id="run-1")
    assert recorder.kinds() == [
        ("RunStarted", ""), ("StepStarted", "a"), ("StepFinished", "a"),
        ("StepStarted", "b"), ("StepFinished", "b"), ("RunFinished", ""),
    ]
    started, finished = recorder.events[0], recorder.events[-1]
    assert isinstance(started, RunStarted) and isinstance(finished, RunFinished)
    assert started.run_id == "run-1" and started.params == {"p": 1}
    assert started.step_names == ("a", "b") and started.version == 4
    assert finished.status == "failed" and finished.error_step == "b"
    assert finished.at == result.finished_at
    step_b = recorder.events[4]
    assert isinstance(step_b, StepFinished)
    assert step_b.status == "failed" and step_b.error == "broken" and step_b.category == "INTERNAL"


def test_parallel_events_pair_up_per_step() -> None:
    recorder = Recorder()
    tracker = Tracker()
    wf = Workflow("ev", [tracker.step(f"s{i}", depends_on=[]) for i in range(8)],
                  execution_policy=parallel())
    WorkflowRunner(listeners=[recorder]).execute(wf)
    kinds = recorder.kinds()
    assert kinds[0] == ("RunStarted", "") and kinds[-1] == ("RunFinished", "")
    for i in range(8):
        assert kinds.index(("StepStarted", f"s{i}")) < kinds.index(("StepFinished", f"s{i}"))


def test_a_raising_listener_is_logged_and_does_not_break_the_run(
        caplog: pytest.LogCaptureFixture) -> None:
    def broken_listener(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    recorder = Recorder()
    runner = WorkflowRunner(listeners=[broken_listener])
    runner.subscribe(recorder)
    tracker = Tracker()
    with caplog.at_level(logging.ERROR, logger="engine.events"):
        result = runner.execute(Workflow("ev", [tracker.step("a")]))
    assert result.succeeded and tracker.order == ["a"]
    assert len(recorder.events) == 4
    assert "subscriber bug" in caplog.text


def test_unsubscribe_stops_delivery() -> None:
    recorder = Recorder()
    runner = WorkflowRunner()
    unsubscribe = runner.subscribe(recorder)
    unsubscribe()
    unsubscribe()  # a second call is harmless
    runner.execute(Workflow("ev", [Tracker().step("a")]))
    assert recorder.events == []


# --------------------------------------------------------------------------- definitions
def test_unknown_pipeline_raises_from_execute_after_recording_the_run() -> None:
    recorder = Recorder()
    wf = Workflow("pipes", [Step.pipeline("fetch", "nowhere.fetch")])
    with pytest.raises(UnknownPipelineError, match="nowhere.fetch"):
        WorkflowRunner(listeners=[recorder]).execute(wf)
    finished = recorder.events[-1]
    assert isinstance(finished, RunFinished) and finished.status == "failed"
    assert "register_pipeline" in (finished.error or "")


def test_registered_pipelines_run_in_both_calling_conventions() -> None:
    def ctx_pipe(ctx: Any, config: Any) -> dict[str, Any]:
        return {"n": config["n"] + ctx.get_param("offset")}

    def plain_pipe(n: int) -> dict[str, Any]:
        return {"n": n * 10}

    register_pipeline("test_runner.ctx", ctx_pipe)
    register_pipeline("test_runner.plain", plain_pipe)
    try:
        wf = Workflow("pipes", [Step.pipeline("a", "test_runner.ctx", config={"n": 1}),
                                Step.pipeline("b", "test_runner.plain")])
        result = WorkflowRunner().execute(wf, {"offset": 1})
    finally:
        unregister_pipeline("test_runner.ctx")
        unregister_pipeline("test_runner.plain")
    assert result.outputs == {"a": {"n": 2}, "b": {"n": 20}}


def test_execute_accepts_a_managed_workflow_and_rejects_other_things() -> None:
    managed = ManagedWorkflow("m").step("one", lambda: {"one": 1})
    assert WorkflowRunner().execute(managed).outputs == {"one": {"one": 1}}  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs a Workflow, got str"):
        WorkflowRunner().execute("m")  # type: ignore[arg-type]


def test_wait_step_and_run_timestamps() -> None:
    result = WorkflowRunner().execute(Workflow("w", [Step.wait("pause", 0.001)]))
    assert result.outputs["pause"] == {"waited_seconds": 0.001}
    step = result.steps["pause"]
    assert step.started_at is not None and step.finished_at is not None
    assert result.started_at <= step.started_at <= step.finished_at <= result.finished_at
    assert result.to_dict()["steps"]["pause"]["status"] == "completed"


def test_retry_policy_applies_without_on_error_retry_and_continue_decides_after() -> None:
    calls: list[int] = []

    def flaky(ctx, config):
        calls.append(1)
        return StepResult.fail("down", category="TRANSIENT")

    def after(ctx, config):
        return StepResult.ok(output={"after": True})

    wf = Workflow("retry.continue", steps=[
        Step.lambda_("flaky", flaky, on_error=ErrorPolicy.CONTINUE,
                     retry_policy=RetryPolicy(max_attempts=3, initial_delay_seconds=0)),
        Step.lambda_("after", after),
    ])
    result = WorkflowRunner().execute(wf)
    assert len(calls) == 3
    assert result.steps["flaky"].attempts == 3
    assert result.steps["flaky"].status == "failed"
    assert result.outputs["after"] == {"after": True}
    assert result.status == "completed"
