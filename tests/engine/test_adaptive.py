"""Adaptive workflows (spec section 4): runtime changes in the runner and the playground,
``continue_as_new``, ``spawn_workflow``, and ``ManagedWorkflow``'s ``skip_if``/``on_failure``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from engine import (
    ErrorPolicy,
    ExecutionMode,
    LocalArtifactStore,
    ManagedWorkflow,
    RunStatus,
    Step,
    StepResult,
    TrackedWorkflowRunner,
    Workflow,
    WorkflowContext,
    WorkflowExecutionPolicy,
    WorkflowPlayground,
    WorkflowRunner,
    register_workflow,
)
from engine.adaptive import AdaptiveChangeError, ChangeKind
from engine.events import AdaptiveChange, Event
from engine.playground import SnapshotKind

pytestmark = pytest.mark.usefixtures("clean_registry")

MODES = [ExecutionMode.SEQUENTIAL, ExecutionMode.PARALLEL]
WAIT = 10.0


class Trace:
    """Records which handlers ran, in order, from any thread."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def step(self, name: str, output: dict[str, Any] | None = None) -> Step:
        return Step.lambda_(name, self.handler(name, output))

    def handler(self, name: str, output: dict[str, Any] | None = None) -> Any:
        def run(ctx: WorkflowContext, config: Any) -> StepResult:
            with self._lock:
                self.calls.append(name)
            return StepResult.ok(output={name: True, **(output or {})})
        return run

    def asking(self, name: str, ask: Any) -> Step:
        """A step that requests changes through ``ask(ctx)`` before it finishes."""
        def run(ctx: WorkflowContext, config: Any) -> StepResult:
            with self._lock:
                self.calls.append(name)
            ask(ctx)
            return StepResult.ok(output={name: True})
        return Step.lambda_(name, run)


def chain(trace: Trace, first: Step, mode: ExecutionMode, *names: str) -> Workflow:
    """``first`` then ``names`` as a chain (each after the previous one)."""
    return Workflow("adaptive.chain", [first, *(trace.step(n) for n in names)],
                    execution_policy=WorkflowExecutionPolicy(mode=mode, max_concurrency=4))


def statuses(result: Any) -> dict[str, str]:
    return {name: run.status.value for name, run in result.steps.items()}


# --------------------------------------------------------------------------- each change
@pytest.mark.parametrize("mode", MODES)
def test_skip_steps_skips_them_and_their_dependents_still_run(mode: ExecutionMode) -> None:
    trace = Trace()
    wf = chain(trace, trace.asking("check", lambda ctx: ctx.skip_steps(["heavy", "gpu"])),
               mode, "fetch", "heavy", "gpu", "store")
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.COMPLETED
    assert trace.calls == ["check", "fetch", "store"]
    assert statuses(result) == {"check": "completed", "fetch": "completed", "heavy": "skipped",
                                "gpu": "skipped", "store": "completed"}
    assert "requested by step 'check'" in (result.steps["heavy"].error or "")
    [change] = result.graph_changes
    assert (change.change, change.step, change.detail["steps"]) == (
        ChangeKind.SKIP, "check", ["heavy", "gpu"])


@pytest.mark.parametrize("mode", MODES)
def test_insert_step_before_runs_the_new_step_first(mode: ExecutionMode) -> None:
    trace = Trace()
    wf = chain(trace, trace.asking(
        "plan", lambda ctx: ctx.insert_step_before("load", trace.step("backoff"))),
        mode, "extract", "load")
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.COMPLETED
    assert trace.calls == ["plan", "extract", "backoff", "load"]
    assert list(result.steps) == ["plan", "extract", "backoff", "load"]
    graph = result.graph_changes[0].detail["graph"]
    assert ["extract", "backoff"] in graph["edges"] and ["backoff", "load"] in graph["edges"]
    assert ["extract", "load"] not in graph["edges"]


@pytest.mark.parametrize("mode", MODES)
def test_insert_step_after_rewires_dependents_that_have_not_started(
        mode: ExecutionMode) -> None:
    trace = Trace()

    def ask(ctx: WorkflowContext) -> None:
        ctx.insert_step_after("fetch", trace.step("audit"))

    wf = Workflow("adaptive.after", [trace.step("fetch"), trace.asking("decide", ask),
                                     trace.step("report")],
                  execution_policy=WorkflowExecutionPolicy(mode=mode))
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.COMPLETED
    # "decide" had already started, so only "report" (pending) waits for the new step
    assert trace.calls == ["fetch", "decide", "audit", "report"]
    change = result.graph_changes[0]
    assert change.change is ChangeKind.INSERT_AFTER
    assert change.detail["rewired"] == []  # report depends on decide, not on fetch
    assert ["fetch", "audit"] in change.detail["graph"]["edges"]


@pytest.mark.parametrize("mode", MODES)
def test_replace_step_runs_the_new_definition(mode: ExecutionMode) -> None:
    trace = Trace()

    def ask(ctx: WorkflowContext) -> None:
        ctx.replace_step("transform", trace.step("transform", {"engine": "cpu"}))
        ctx.replace_step("publish", trace.step("publish_v2"))

    wf = chain(trace, trace.asking("probe", ask), mode, "transform", "publish", "notify")
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.COMPLETED
    assert result.outputs["transform"] == {"transform": True, "engine": "cpu"}
    assert trace.calls == ["probe", "transform", "publish_v2", "notify"]
    assert "publish" not in result.steps and result.steps["publish_v2"].status is \
        RunStatus.COMPLETED
    assert [c.change for c in result.graph_changes] == [ChangeKind.REPLACE, ChangeKind.REPLACE]


@pytest.mark.parametrize("mode", MODES)
def test_retry_step_reruns_a_finished_step_with_params(mode: ExecutionMode) -> None:
    pages: list[int] = []

    def fetch(page: int = 1) -> dict[str, Any]:
        pages.append(page)
        return {"rows": page * 10}

    def check(ctx: WorkflowContext, config: Any) -> StepResult:
        if ctx.get_output("fetch", "rows") < 20:
            ctx.retry_step("fetch", with_params={"page": 2})
        return StepResult.ok()

    wf = Workflow("adaptive.retry", [Step.from_function("fetch", fetch),
                                     Step.lambda_("check", check)],
                  execution_policy=WorkflowExecutionPolicy(mode=mode))
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.COMPLETED
    assert pages == [1, 2]
    assert result.outputs["fetch"] == {"rows": 20}
    [change] = result.graph_changes
    assert change.detail["retried"] == "fetch" and change.detail["with_params"] == {"page": 2}


# --------------------------------------------------------------------------- invalid changes
def _insert_before_completed(ctx: WorkflowContext) -> None:
    ctx.insert_step_before("first", Step.wait("pause"))


def _cycle(ctx: WorkflowContext) -> None:
    ctx.insert_step_before("second", Step.wait("loop", depends_on=["third"]))


INVALID = {
    "unknown step": (lambda ctx: ctx.skip_steps(["secnd"]),
                     "has no step 'secnd'; did you mean 'second'?"),
    "before a completed step": (_insert_before_completed,
                                "step 'first' has already completed"),
    "cycle": (_cycle, "would create a dependency cycle"),
    "duplicate name": (lambda ctx: ctx.insert_step_after("asker", Step.wait("third")),
                       "already has a step named 'third'"),
    "skip itself": (lambda ctx: ctx.skip_steps(["asker"]), "is the step asking"),
    "retry a pending step": (lambda ctx: ctx.retry_step("third"), "has not run yet"),
    "not a step": (lambda ctx: ctx.insert_step_after("asker", "oops"), "needs a Step"),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_changes_fail_the_asking_step_and_leave_the_plan(case: str,
                                                                  mode: ExecutionMode) -> None:
    ask, message = INVALID[case]
    trace = Trace()
    wf = Workflow("adaptive.invalid", [trace.step("first"), trace.asking("asker", ask),
                                       trace.step("second"), trace.step("third")],
                  execution_policy=WorkflowExecutionPolicy(mode=mode))
    result = WorkflowRunner().execute(wf)
    asker = result.steps["asker"]
    assert asker.status is RunStatus.FAILED
    assert asker.error_category == "VALIDATION"
    assert asker.error_type == "AdaptiveChangeError"
    assert message in (asker.error or "")
    assert list(result.steps) == ["first", "asker", "second", "third"]
    assert result.graph_changes == ()
    assert result.error_step == "asker"


def test_a_batch_applies_all_or_nothing() -> None:
    trace = Trace()

    def ask(ctx: WorkflowContext) -> None:
        ctx.skip_steps(["report"])
        ctx.insert_step_before("fetch", Step.wait("too_late"))  # fetch already completed

    asker = trace.asking("asker", ask).with_changes(on_error=ErrorPolicy.CONTINUE)
    wf = Workflow("adaptive.atomic", [trace.step("fetch"), asker, trace.step("report")])
    result = WorkflowRunner().execute(wf)
    assert result.steps["asker"].status is RunStatus.FAILED
    assert result.steps["report"].status is RunStatus.COMPLETED  # the valid skip was dropped
    assert result.graph_changes == ()


def test_parallel_steps_racing_for_one_name_the_second_fails_validation() -> None:
    first_done = threading.Event()

    def first(ctx: WorkflowContext, config: Any) -> StepResult:
        ctx.insert_step_after("first", Step.wait("shared"))
        first_done.set()
        return StepResult.ok()

    def second(ctx: WorkflowContext, config: Any) -> StepResult:
        assert first_done.wait(WAIT)
        ctx.insert_step_after("second", Step.wait("shared"))
        return StepResult.ok()

    wf = Workflow("adaptive.race", [Step.lambda_("first", first, depends_on=[]),
                                    Step.lambda_("second", second, depends_on=[])],
                  execution_policy=WorkflowExecutionPolicy(mode=ExecutionMode.PARALLEL,
                                                           on_failure=ErrorPolicy.CONTINUE))
    result = WorkflowRunner().execute(wf)
    assert result.steps["first"].status is RunStatus.COMPLETED
    assert result.steps["second"].status is RunStatus.FAILED
    assert "already has a step named 'shared'" in (result.steps["second"].error or "")
    assert result.steps["shared"].status is RunStatus.COMPLETED
    assert [c.step for c in result.graph_changes] == ["first"]


def test_changes_need_a_running_workflow() -> None:
    ctx = WorkflowContext("r1", "loose")
    with pytest.raises(AdaptiveChangeError, match="need a running workflow"):
        ctx.skip_steps(["a"])


# --------------------------------------------------------------------------- spec 4a / 4b
def test_spec_4a_skip_heavy_steps_for_small_data(tmp_path: Path) -> None:
    trace = Trace()

    def fetch(ctx: WorkflowContext, config: Any) -> StepResult:
        ref = ctx.artifact_store.put("raw.bin", b"x" * 100, run_id=ctx.run_id, step="fetch")
        return StepResult.ok(output={"data_ref": ref})

    def check_data_size(ctx: WorkflowContext, config: Any) -> StepResult:  # spec 4a as written
        data_ref = ctx.get_output("fetch", "data_ref")
        if data_ref.size_bytes < 1_000_000:  # < 1MB
            ctx.skip_steps(["heavy_processing", "gpu_transform"])
        return StepResult.ok()

    wf = Workflow("spec.4a", [Step.lambda_("fetch", fetch),
                              Step.lambda_("check", check_data_size),
                              trace.step("heavy_processing"), trace.step("gpu_transform"),
                              trace.step("publish")])
    result = WorkflowRunner(artifact_store=LocalArtifactStore(tmp_path)).execute(wf)
    assert result.status is RunStatus.COMPLETED
    assert trace.calls == ["publish"]


class RateLimitedApi:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self, ctx: WorkflowContext, config: Any) -> StepResult:
        self.calls += 1
        if self.calls <= self.failures:
            return StepResult.fail("429 rate_limit exceeded", category="TRANSIENT")
        return StepResult.ok(output={"rows": 3})


def handle_failure(ctx: WorkflowContext, config: Any) -> StepResult:  # spec 4b as written
    failed_step = ctx.get_failed_step()
    if "rate_limit" in str(failed_step.error):
        # Insert a wait step dynamically
        ctx.insert_step_before(
            failed_step.name,
            Step.wait("rate_limit_backoff", duration_seconds=0.01),
        )
        ctx.retry_step(failed_step.name)
    return StepResult.ok()


@pytest.mark.parametrize("mode", MODES)
def test_spec_4b_on_failure_handler_inserts_a_wait_and_retries(mode: ExecutionMode) -> None:
    api = RateLimitedApi(failures=1)
    wf = (ManagedWorkflow("spec.4b", execution_policy=WorkflowExecutionPolicy(mode=mode))
          .step("prepare", lambda: {"ready": True})
          .step("call_api", lambda: {})  # replaced below by the rate-limited handler
          .step("store", lambda rows: {"stored": rows})
          .on_failure(handle_failure))
    wf._steps[1] = Step.lambda_("call_api", api)
    result = wf.run()
    assert result.status is RunStatus.COMPLETED, result.error
    assert api.calls == 2
    assert result.outputs["store"] == {"stored": 3}
    assert list(result.steps) == ["prepare", "rate_limit_backoff", "call_api",
                                  "on_failure(call_api)", "store"]
    assert result.steps["rate_limit_backoff"].status is RunStatus.COMPLETED
    assert [(c.change, c.step) for c in result.graph_changes] == [
        (ChangeKind.ON_FAILURE, "call_api"),
        (ChangeKind.INSERT_BEFORE, "on_failure(call_api)"),
        (ChangeKind.RETRY, "on_failure(call_api)")]


def test_spec_4b_gives_up_when_the_failure_repeats() -> None:
    api = RateLimitedApi(failures=5)
    wf = ManagedWorkflow("spec.4b.again").step("call_api", lambda: {}).on_failure(handle_failure)
    wf._steps[0] = Step.lambda_("call_api", api)
    result = wf.run()
    assert result.status is RunStatus.FAILED and result.error_step == "call_api"
    # the second handler cannot insert "rate_limit_backoff" again, so it fails and stops
    second = result.steps["on_failure(call_api)#2"]
    assert second.status is RunStatus.FAILED and "already has a step named" in str(second.error)
    assert api.calls == 2


@pytest.mark.parametrize("mode", MODES)
def test_spec_4b_as_a_plain_step_after_a_tolerated_failure(mode: ExecutionMode) -> None:
    api = RateLimitedApi(failures=1)
    wf = Workflow("spec.4b.step", [
        Step.lambda_("call_api", api, on_error=ErrorPolicy.CONTINUE),
        Step.lambda_("handle_failure", handle_failure),
        Step.lambda_("after", lambda ctx, cfg: {"rows": ctx.get_output("call_api", "rows")}),
    ], execution_policy=WorkflowExecutionPolicy(mode=mode))
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.COMPLETED
    assert api.calls == 2 and result.steps["call_api"].status is RunStatus.COMPLETED
    assert result.outputs["after"] == {"rows": 3}


# --------------------------------------------------------------------------- continue / spawn
def stream_workflow(seen: list[Any]) -> Workflow:
    def process_stream(ctx: WorkflowContext, config: Any) -> StepResult:  # spec 4d, adapted
        cursor = ctx.get_param("cursor")
        seen.append((ctx.run_id, cursor))
        if cursor < 2:  # batch.has_more
            ctx.continue_as_new(params={"cursor": cursor + 1}, preserve_artifacts=True)
        return StepResult.ok(output={"last_cursor": cursor})

    return Workflow("spec.4d", [Step.lambda_("process", process_stream),
                                Step.lambda_("finish", lambda ctx, cfg: {"done": True})],
                    defaults={"cursor": 0})


def test_continue_as_new_chains_three_runs_and_returns_the_last(tmp_path: Path) -> None:
    seen: list[Any] = []
    with TrackedWorkflowRunner(tmp_path / "spine.db") as tracked:
        result = tracked.execute(stream_workflow(seen))
        store = tracked.store
        runs = {r.run_id: r for r in store.list_runs(workflow="spec.4d")}
        first, second = seen[0][0], seen[1][0]
        links = [(e.run_id, e.data) for rid in (first, second, result.run_id)
                 for e in store.events(rid) if e.kind == "adaptive_change"]
        finish_steps = {rid: {s.step: s.status for s in store.step_runs(rid)}.get("finish")
                        for rid in runs}
    assert [cursor for _, cursor in seen] == [0, 1, 2]
    assert result.params == {"cursor": 2} and result.status is RunStatus.COMPLETED
    assert result.outputs == {"process": {"last_cursor": 2}, "finish": {"done": True}}
    assert result.run_id == seen[2][0]
    origin = result.graph_changes[0]
    assert origin.change is ChangeKind.CONTINUED_FROM
    assert origin.detail == {"run_id": second, "chain": [first, second]}
    assert len(runs) == 3 and {r.status for r in runs.values()} == {RunStatus.COMPLETED}
    assert (first, {"change": "continue_as_new", "continued_as": second,
                    "params": {"cursor": 1}, "preserve_artifacts": True}) in links
    assert (second, {"change": "continued_from", "run_id": first, "chain": [first]}) in links
    assert finish_steps[result.run_id] == RunStatus.COMPLETED
    assert finish_steps[first] in (None, RunStatus.SKIPPED)  # never ran in a continued run


def test_continue_as_new_can_hand_artifacts_to_the_next_run(tmp_path: Path) -> None:
    seen: list[Any] = []

    def make(ctx: WorkflowContext, config: Any) -> StepResult:
        if ctx.get_param("round") == 0:
            ref = ctx.artifact_store.put("blob", b"abc", run_id=ctx.run_id, step="make")
            return StepResult.ok(output={"ref": ref})
        return StepResult.skip("made in the first run")

    def chain_step(ctx: WorkflowContext, config: Any) -> StepResult:
        if ctx.get_param("round") == 0:
            ctx.continue_as_new({"round": 1}, preserve_artifacts=True)
        seen.append(ctx.get_output("make", "ref"))
        return StepResult.ok()

    wf = Workflow("carry", [Step.lambda_("make", make), Step.lambda_("go", chain_step)],
                  defaults={"round": 0})
    result = WorkflowRunner(artifact_store=LocalArtifactStore(tmp_path)).execute(wf)
    assert result.status is RunStatus.COMPLETED
    assert len(seen) == 1 and seen[0].size_bytes == 3  # the ref made in the first run


def test_spawn_workflow_starts_a_detached_child_run_and_returns_its_id() -> None:
    ran: list[tuple[str, Any]] = []
    register_workflow(Workflow("process_batch", [Step.lambda_(
        "work", lambda ctx, cfg: ran.append((ctx.run_id, ctx.get_param("partition"))))]))
    ids: list[str] = []

    def scale(ctx: WorkflowContext, config: Any) -> StepResult:  # spec 4c, adapted
        for i, partition in enumerate([[1, 2], [3]]):
            ids.append(ctx.spawn_workflow(f"process_partition_{i}",
                                          workflow_name="process_batch",
                                          params={"partition": partition}))
        return StepResult.ok()

    events: list[Event] = []
    runner = WorkflowRunner(listeners=[events.append])
    result = runner.execute(Workflow("fan", [Step.lambda_("scale", scale)]))
    runner.wait_for_background(timeout=WAIT)
    assert result.status is RunStatus.COMPLETED
    assert sorted(ran) == sorted(zip(ids, [[1, 2], [3]], strict=True))
    spawned = [c.detail["child_run_id"] for c in result.graph_changes
               if c.change is ChangeKind.SPAWN]
    assert spawned == ids
    assert [e.detail["name"] for e in events if isinstance(e, AdaptiveChange)] == [
        "process_partition_0", "process_partition_1"]


def test_spawn_of_an_unknown_workflow_fails_the_step() -> None:
    wf = Workflow("fan.bad", [Step.lambda_(
        "scale", lambda ctx, cfg: ctx.spawn_workflow("p", "nope", {}))])
    result = WorkflowRunner().execute(wf)
    assert result.steps["scale"].error_category == "VALIDATION"
    assert "nope" in (result.steps["scale"].error or "")


def test_tracked_runs_store_adaptive_changes_and_spawned_children(tmp_path: Path) -> None:
    register_workflow(Workflow("child.job", [Step.lambda_("work", lambda ctx, cfg: {"w": 1})]))
    child_ids: list[str] = []

    def ask(ctx: WorkflowContext, config: Any) -> StepResult:
        ctx.insert_step_after("plan", Step.lambda_("audit", lambda c, f: {"audited": True}))
        child_ids.append(ctx.spawn_workflow("side", "child.job", {"n": 1}))
        return StepResult.ok()

    wf = Workflow("tracked.adaptive", [Step.lambda_("plan", ask),
                                       Step.lambda_("load", lambda ctx, cfg: {"l": 1})])
    with TrackedWorkflowRunner(tmp_path / "spine.db") as tracked:
        result = tracked.execute(wf)
        tracked.runner.wait_for_background(timeout=WAIT)
        tracked.recorder.flush()
        events = [e for e in tracked.store.events(result.run_id) if e.kind == "adaptive_change"]
        steps = {s.step: s.status for s in tracked.store.step_runs(result.run_id)}
        child = tracked.store.get_run(child_ids[0])
    assert [(e.step, e.data["change"]) for e in events] == [("plan", "insert_after"),
                                                            ("plan", "spawn")]
    assert events[0].data["graph"]["steps"] == ["plan", "audit", "load"]
    assert ["audit", "load"] in events[0].data["graph"]["edges"]
    assert events[1].data["child_run_id"] == child_ids[0]
    assert steps["audit"] == RunStatus.COMPLETED
    assert child.parent_run_id == result.run_id and child.status is RunStatus.COMPLETED


# --------------------------------------------------------------------------- playground
def playground_workflow(trace: Trace) -> Workflow:
    def ask(ctx: WorkflowContext) -> None:
        ctx.insert_step_after("fetch", trace.step("audit"))

    return Workflow("pg.adaptive", [trace.asking("fetch", ask), trace.step("report")])


def test_playground_applies_changes_in_the_step_snapshot_and_step_back_undoes_them() -> None:
    trace = Trace()
    pg = WorkflowPlayground()
    pg.load(playground_workflow(trace))
    snap = pg.step()
    assert snap.step_name == "fetch"
    assert pg.current.state.plan.names == ("fetch", "audit", "report")
    assert pg.peek() is not None and pg.peek().name == "audit"  # type: ignore[union-attr]
    diff = pg.diff(0)
    assert diff.steps_added == ("audit",)
    assert [c.change for c in diff.graph_changes] == [ChangeKind.INSERT_AFTER]
    back = pg.step_back()
    assert back.state.plan.names == ("fetch", "report")
    assert [s.name for s in pg.remaining_steps] == ["fetch", "report"]
    assert pg.diff(1, 0).steps_removed == ("audit",)
    pg.continue_()
    assert pg.status is RunStatus.COMPLETED
    assert trace.calls == ["fetch", "fetch", "audit", "report"]
    assert pg.summary()["graph_changes"][0]["inserted"] == "audit"


def test_playground_invalid_change_fails_the_step_and_keeps_the_plan() -> None:
    pg = WorkflowPlayground()
    pg.load(Workflow("pg.bad", [
        Step.lambda_("a", lambda ctx, cfg: ctx.insert_step_before("a", Step.wait("w"))),
        Step.wait("b")]))
    snap = pg.step()
    assert snap.status is RunStatus.FAILED and snap.category == "VALIDATION"
    assert "is the step asking" in (snap.error or "")
    assert pg.current.state.plan.names == ("a", "b")


def test_playground_skip_retry_and_failure_handler_match_the_runner() -> None:
    api = RateLimitedApi(failures=1)
    wf = (ManagedWorkflow("pg.4b").step("call_api", lambda: {}).step("tail", lambda: {})
          .on_failure(handle_failure))
    wf._steps[0] = Step.lambda_("call_api", api)
    pg = WorkflowPlayground()
    pg.load(wf)
    failed = pg.step()
    assert failed.status is RunStatus.FAILED
    handler = pg.current
    assert handler.step_name == "on_failure(call_api)"
    assert handler.status is RunStatus.COMPLETED
    assert pg.peek().name == "rate_limit_backoff"  # type: ignore[union-attr]
    pg.continue_()
    assert pg.status is RunStatus.COMPLETED and api.calls == 2
    runner_result = WorkflowRunner().execute(wf.workflow)  # api now succeeds at once
    assert runner_result.status is RunStatus.COMPLETED


def test_playground_continue_as_new_opens_the_next_run() -> None:
    seen: list[Any] = []
    pg = WorkflowPlayground()
    pg.load(stream_workflow(seen))
    first_run = pg.run_id
    pg.step()
    assert pg.current.kind is SnapshotKind.CONTINUED
    assert pg.params == {"cursor": 1} and pg.run_id != first_run
    pg.step_back()
    assert pg.run_id == first_run
    assert pg.current.state.runs["finish"].status is RunStatus.SKIPPED


# --------------------------------------------------------------------------- managed (R3)
def test_skip_if_reads_the_context_as_spec_r3_writes_it() -> None:
    ran: list[str] = []
    wf = (ManagedWorkflow("r3.skip")
          .step("load", lambda: ran.append("load") or {"rows": 2})
          .step("validate", lambda rows: ran.append("validate") or {"ok": rows > 0},
                skip_if=lambda ctx: ctx.get("skip_validation"))
          .step("finalize", lambda: ran.append("finalize") or {})
          .build())
    skipped = wf.run({"skip_validation": True})
    assert skipped.status is RunStatus.COMPLETED
    assert skipped.steps["validate"].status is RunStatus.SKIPPED
    assert ran == ["load", "finalize"]
    ran.clear()
    ran_all = wf.run({"skip_validation": False})
    assert ran == ["load", "validate", "finalize"]
    assert ran_all.outputs["validate"] == {"ok": True}


def test_skip_if_can_take_keyword_arguments_like_a_step_function() -> None:
    wf = (ManagedWorkflow("r3.kwargs")
          .step("count", lambda: {"rows": 0})
          .step("heavy", lambda rows: {"heavy": rows}, skip_if=lambda rows: rows == 0))
    assert wf.run().steps["heavy"].status is RunStatus.SKIPPED


def test_on_failure_runs_the_rollback_and_the_run_still_fails() -> None:
    rolled_back: list[tuple[str, str | None]] = []

    def rollback_all_inserts(failed_step: Any) -> dict[str, Any]:
        rolled_back.append((failed_step.name, failed_step.category))
        return {"rolled_back": True}

    def transform_facts() -> dict[str, Any]:
        raise ConnectionError("db went away")

    wf = (ManagedWorkflow("r3.rollback")
          .step("companies", lambda: {"companies": 2})
          .step("facts", transform_facts)
          .step("finalize", lambda: {})
          .on_failure(rollback_all_inserts)
          .build())
    result = wf.run()
    assert result.status is RunStatus.FAILED and result.error_step == "facts"
    assert rolled_back == [("facts", "TRANSIENT")]
    assert result.steps["on_failure(facts)"].output == {"rolled_back": True}
    assert result.steps["finalize"].status is RunStatus.SKIPPED
    assert "on_failure(facts)" in wf.summary()


def test_get_failed_step_is_none_before_any_failure() -> None:
    seen: list[Any] = []
    WorkflowRunner().execute(Workflow("nofail", [Step.lambda_(
        "a", lambda ctx, cfg: seen.append(ctx.get_failed_step()))]))
    assert seen == [None]
