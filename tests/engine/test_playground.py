"""``WorkflowPlayground``: stepping, time travel, edits, breakpoints, persisted runs, nesting."""

from __future__ import annotations

import contextlib
import gc
import io
import runpy
import threading
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import engine
from engine import (
    ErrorPolicy,
    Event,
    ExecutionMode,
    RetryPolicy,
    RunStatus,
    Step,
    StepFinished,
    StepResult,
    StepStarted,
    UnknownStepError,
    Workflow,
    WorkflowError,
    WorkflowExecutionPolicy,
    WorkflowRunner,
    register_workflow,
)
from engine.playground import (
    BreakpointError,
    ChildActiveError,
    EndOfWorkflowError,
    InvalidEditError,
    NoWorkflowLoadedError,
    PlaygroundError,
    PlaygroundStepError,
    RecordedRun,
    RecordedRunError,
    RunHaltedError,
    SnapshotIndexError,
    SnapshotKind,
    StartOfHistoryError,
    StepIntoError,
    StepNotReadyError,
    StepNotRunError,
    StopReason,
    WorkflowPlayground,
)

pytestmark = pytest.mark.usefixtures("clean_registry")

M4 = Path(__file__).resolve().parents[1] / "resources" / "spec_examples" / "m4.py"
BARRIER_TIMEOUT = 5.0


# --------------------------------------------------------------------------- handlers
calls: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    calls.clear()


def fetch_data(ctx: Any, config: Any) -> StepResult:
    calls["fetch"] += 1
    return StepResult.ok(output={"records": [1, 2, 3, 4, 5], "count": 5})


def transform(ctx: Any, config: Any) -> StepResult:
    calls["transform"] += 1
    factor = ctx.get_param("factor", 2)
    return StepResult.ok(output={"doubled": [r * factor for r in ctx.get_output("fetch", "records", [])]})


def validate(ctx: Any, config: Any) -> StepResult:
    calls["validate"] += 1
    limit = ctx.get_param("max_value", 8)
    if any(v > limit for v in ctx.get_output("transform", "doubled", [])):
        return StepResult.fail("Values exceed threshold", category="DATA_QUALITY")
    return StepResult.ok(output={"valid": True})


def debug_workflow(**kwargs: Any) -> Workflow:
    return Workflow("debug.pipeline", [Step.lambda_("fetch", fetch_data),
                                       Step.lambda_("transform", transform),
                                       Step.lambda_("validate", validate)], **kwargs)


def seed(start: int = 1) -> dict[str, Any]:
    calls["seed"] += 1
    return {"x": start, "total": start}


def add(x: int, total: int, step_size: int = 3) -> dict[str, Any]:
    calls["add"] += 1
    return {"x": x + step_size, "total": total + x}


def chain_workflow(length: int = 6) -> Workflow:
    """Plain functions fed from earlier outputs (latest wins) and params: deterministic."""
    steps = [Step.from_function("seed", seed)]
    steps += [Step.from_function(f"add{i}", add) for i in range(length - 1)]
    return Workflow("chain", steps, defaults={"start": 2})


def snapshot_states(pg: WorkflowPlayground) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(dict(s.params), dict(s.outputs)) for s in pg.snapshots]


# --------------------------------------------------------------------------- spec M4
def test_spec_m4_session_as_written() -> None:
    pg = WorkflowPlayground()
    pg.load(debug_workflow())

    snap1 = pg.step()
    assert (snap1.step_name, snap1.status) == ("fetch", RunStatus.COMPLETED)
    assert snap1.output == {"records": [1, 2, 3, 4, 5], "count": 5}
    snap2 = pg.step()
    assert (snap2.step_name, snap2.status) == ("transform", "completed")
    assert snap2.output == {"doubled": [2, 4, 6, 8, 10]}
    next_step = pg.peek()
    assert next_step is not None
    assert f"{next_step.name} ({next_step.step_type.value})" == "validate (lambda)"

    snap3 = pg.step()
    assert (snap3.step_name, snap3.status) == ("validate", RunStatus.FAILED)
    assert snap3.error == "Values exceed threshold"
    assert snap3.category == "DATA_QUALITY"
    assert snap3.context.get_output("transform", "doubled") == [2, 4, 6, 8, 10]

    pg.step_back()
    pg.step_back()
    assert list(pg.outputs) == ["fetch"]
    assert pg.peek().name == "transform"  # type: ignore[union-attr]

    pg.set_param("max_value", 4)
    snap2b = pg.step()  # re-runs transform
    assert (snap2b.step_name, snap2b.status) == ("transform", RunStatus.COMPLETED)
    assert snap2b.params["max_value"] == 4
    assert calls == {"fetch": 1, "transform": 2, "validate": 1}

    summary = pg.summary()
    assert [(h["kind"], h["step"]) for h in summary["history"]] == [
        ("step", "fetch"), ("set_param", None), ("step", "transform")]
    assert [s.name for s in pg.remaining_steps] == ["validate"]
    assert summary["status"] == "running"


def test_spec_m4_file_runs_against_the_playground(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "WorkflowPlayground", WorkflowPlayground, raising=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(M4), run_name="__main__")
    text = out.getvalue()
    assert "Step 1: fetch → completed" in text
    assert "Output: {'doubled': [2, 4, 6, 8, 10]}" in text
    assert "Next: validate (lambda)" in text
    assert "Step 3: validate → failed" in text and "Error: Values exceed threshold" in text
    assert "Total snapshots: 3" in text and "Remaining steps: 1" in text


# --------------------------------------------------------------------------- time travel
@pytest.mark.parametrize("back", [1, 2, 3, 5, 6])
def test_rewind_then_replay_reproduces_the_same_outputs(back: int) -> None:
    pg = WorkflowPlayground()
    pg.load(chain_workflow(6))
    pg.continue_()
    reference = snapshot_states(pg)
    assert pg.status is RunStatus.COMPLETED
    before = sum(calls.values())

    pg.rewind(back)
    assert sum(calls.values()) == before  # going back recomputes nothing
    assert (dict(pg.params), dict(pg.outputs)) == reference[6 - back]
    replayed = pg.continue_()
    assert len(replayed) == back
    assert snapshot_states(pg) == reference
    assert pg.outputs == WorkflowRunner().execute(chain_workflow(6)).outputs


def test_goto_moves_both_ways_until_a_new_change_drops_the_later_snapshots() -> None:
    pg = WorkflowPlayground()
    pg.load(chain_workflow(4))
    snaps = pg.continue_()
    assert pg.goto(0).kind is SnapshotKind.LOAD and dict(pg.outputs) == {}
    assert pg.goto(snaps[2]) is snaps[2] and pg.position == 3
    assert pg.goto(4) is snaps[-1]  # forward again: nothing was re-run
    assert calls["add"] == 3

    pg.goto(1)
    pg.set_param("step_size", 10)  # a change: snapshots 2..4 are gone
    assert len(pg.snapshots) == 3
    with pytest.raises(SnapshotIndexError, match="no longer on the timeline"):
        pg.goto(snaps[2])
    pg.continue_()
    assert pg.outputs["add2"] == {"x": 2 + 30, "total": 2 + 2 + 12 + 22}


def test_set_param_is_undone_by_stepping_back_over_it() -> None:
    pg = WorkflowPlayground()
    pg.load(chain_workflow(3), params={"start": 5})
    pg.step()
    pg.set_param("step_size", 1)
    assert pg.params == {"start": 5, "step_size": 1}
    back = pg.step_back()
    assert back.step_name == "seed" and dict(pg.params) == {"start": 5}


def test_outputs_restored_on_rewind_feed_plain_function_arguments() -> None:
    """After a rewind the ``latest`` view is rebuilt from the snapshot, not left stale."""
    pg = WorkflowPlayground()
    pg.load(chain_workflow(4))
    pg.continue_()
    pg.goto(2)  # after add0: x = 5
    assert pg.step().output == {"x": 8, "total": 2 + 2 + 5}


# --------------------------------------------------------------------------- bad input
def unchanged_after(pg: WorkflowPlayground, error: type[Exception], action: Any,
                    match: str | None = None) -> None:
    before = (pg.summary() if pg.workflow else None, pg.position, len(pg.snapshots))
    with pytest.raises(error, match=match):
        action()
    assert (pg.summary() if pg.workflow else None, pg.position, len(pg.snapshots)) == before


def test_bad_requests_raise_specific_errors_and_change_nothing() -> None:
    pg = WorkflowPlayground()
    unchanged_after(pg, NoWorkflowLoadedError, pg.step, "load")
    pg.load(debug_workflow())
    unchanged_after(pg, StartOfHistoryError, pg.step_back, "snapshot 0")
    unchanged_after(pg, StepNotRunError, lambda: pg.set_output("transform", {}), "not run yet")
    unchanged_after(pg, StepNotRunError, lambda: pg.rerun("fetch"), "not run yet")
    unchanged_after(pg, PlaygroundStepError, lambda: pg.add_breakpoint("transfrom"),
                    "did you mean 'transform'")
    unchanged_after(pg, UnknownStepError, lambda: pg.run_to("nope"))
    unchanged_after(pg, BreakpointError, lambda: pg.add_breakpoint(when=42))  # type: ignore[arg-type]
    unchanged_after(pg, StepNotReadyError, lambda: pg.step("validate"), "waits for 'transform'")
    pg.step()
    unchanged_after(pg, InvalidEditError, lambda: pg.set_output("fetch", {"when": object()}),
                    "JSON")
    unchanged_after(pg, StartOfHistoryError, lambda: pg.rewind(2))
    unchanged_after(pg, SnapshotIndexError, lambda: pg.goto(7), r"0\.\.1")
    unchanged_after(pg, SnapshotIndexError, lambda: pg.rewind(0))
    unchanged_after(pg, StepNotReadyError, lambda: pg.run_to("fetch"), "already ran")
    pg.step()
    pg.step()
    unchanged_after(pg, RunHaltedError, pg.step, "rerun\\('validate'\\)")
    pg.set_param("max_value", 100)
    pg.rerun("validate")
    unchanged_after(pg, EndOfWorkflowError, pg.step, "all 3 steps")
    assert issubclass(PlaygroundStepError, UnknownStepError)
    for error in (NoWorkflowLoadedError, StartOfHistoryError, StepNotRunError, RunHaltedError,
                  EndOfWorkflowError, SnapshotIndexError, InvalidEditError, BreakpointError):
        assert issubclass(error, PlaygroundError) and issubclass(error, WorkflowError)


# --------------------------------------------------------------------------- edits
def test_set_output_reruns_only_what_depends_on_the_edited_step() -> None:
    side = Step.from_function("side", lambda start: {"side": start}, depends_on=["seed"])
    wf = Workflow("edit", [Step.from_function("seed", seed),
                           Step.from_function("add", add, depends_on=["seed"]), side],
                  defaults={"start": 1})
    pg = WorkflowPlayground()
    pg.load(wf)
    pg.continue_()
    edits = pg.set_output("seed", {"x": 100, "total": 0}, rerun_dependents=False)
    assert [s.kind for s in edits] == [SnapshotKind.SET_OUTPUT] and calls["add"] == 1

    pg.step_back()
    snaps = pg.set_output("add", {"x": -1, "total": -1})
    assert [(s.kind, s.step_name) for s in snaps] == [(SnapshotKind.SET_OUTPUT, "add")]
    snaps = pg.set_output("seed", {"x": 100, "total": 0})
    assert [(s.kind.value, s.step_name) for s in snaps] == [
        ("set_output", "seed"), ("rerun", "add"), ("rerun", "side")]
    assert pg.outputs["add"] == {"x": 103, "total": 100}
    assert list(pg.outputs) == ["seed", "add", "side"]
    assert pg.diff(snaps[0], snaps[1]).outputs_added == {"add": {"x": 103, "total": 100}}


def test_fixing_a_failed_step_unblocks_the_run() -> None:
    after = Step.lambda_("publish", lambda ctx, config: {"published": True})
    wf = Workflow("fix", [*debug_workflow().steps, after])
    pg = WorkflowPlayground()
    pg.load(wf)
    assert pg.continue_()[-1].status is RunStatus.FAILED
    assert pg.last_stop is not None and pg.last_stop.reason is StopReason.FAILURE
    assert pg.status is RunStatus.FAILED and pg.peek() is None

    pg.set_output("validate", {"valid": "forced"})
    assert pg.status is RunStatus.RUNNING and pg.peek().name == "publish"  # type: ignore[union-attr]
    pg.step_back()
    pg.set_param("max_value", 10)
    assert pg.rerun("validate").status is RunStatus.COMPLETED
    assert pg.continue_()[-1].output == {"published": True}
    assert pg.status is RunStatus.COMPLETED and pg.is_complete


def test_skipped_downstream_steps_run_again_once_the_failure_is_fixed() -> None:
    keep_going = WorkflowExecutionPolicy(on_failure=ErrorPolicy.CONTINUE)
    wf = Workflow("skips", [
        *debug_workflow().steps,
        Step.lambda_("report", lambda ctx, config: {"ok": True}, depends_on=["validate"]),
        Step.lambda_("other", lambda ctx, config: {"other": 1}, depends_on=["fetch"]),
    ], execution_policy=keep_going)
    pg = WorkflowPlayground()
    pg.load(wf)
    pg.break_on_failure = False
    pg.continue_()
    statuses = {s.step_name: s.status for s in pg.history}
    assert statuses == {"fetch": "completed", "transform": "completed", "validate": "failed",
                        "report": "skipped", "other": "completed"}
    expected = WorkflowRunner().execute(wf)
    assert {n: r.status for n, r in expected.steps.items()} == statuses
    pg.set_param("max_value", 99)
    snaps = pg.set_output("transform", {"doubled": [1]})
    assert [s.step_name for s in snaps] == ["transform", "validate", "report"]
    assert pg.status is RunStatus.COMPLETED


def test_rerun_uses_the_current_context_and_retries_like_a_real_run() -> None:
    attempts = Counter[str]()

    def flaky(ctx: Any, config: Any) -> StepResult:
        attempts["flaky"] += 1
        if attempts["flaky"] % 2:
            return StepResult.fail("blip", category="TRANSIENT")
        return StepResult.ok(output={"n": ctx.get_param("n", 0)})

    events: list[Event] = []
    wf = Workflow("retry", [Step.lambda_("flaky", flaky, retry_policy=RetryPolicy(
        max_attempts=2, initial_delay_seconds=0))])
    pg = WorkflowPlayground(WorkflowRunner(listeners=[events.append]))
    pg.load(wf, params={"n": 1})
    first = pg.step()
    assert (first.status, first.run.attempts, first.output) == ("completed", 2, {"n": 1})
    pg.set_param("n", 7)
    again = pg.rerun("flaky")
    assert again.kind is SnapshotKind.RERUN and again.output == {"n": 7}
    assert [type(e).__name__ for e in events].count("StepRetrying") == 2
    finished = [e for e in events if isinstance(e, StepFinished)]
    assert [e.run_id for e in finished] == [pg.run_id, pg.run_id]


def test_diff_reports_params_and_outputs_added_removed_changed() -> None:
    pg = WorkflowPlayground()
    pg.load(chain_workflow(3), params={"start": 1, "drop": True})
    pg.continue_()
    pg.goto(1)
    pg.set_params({"start": 4, "new": "yes"})
    pg.continue_()
    d = pg.diff(2, 4)
    assert d.params_changed == {} and not d.outputs_removed
    assert d.outputs_added == {"add0": {"x": 4, "total": 2}, "add1": {"x": 7, "total": 6}}
    d = pg.diff(0)
    assert d.params_added == {"new": "yes"} and d.params_changed == {"start": (1, 4)}
    assert d.statuses_changed["seed"] == (None, RunStatus.COMPLETED)
    back = pg.diff(4, 0)
    assert back.outputs_removed.keys() == {"seed", "add0", "add1"}
    assert back.params_removed == {"new": "yes"}
    assert not pg.diff(3, 3)


# --------------------------------------------------------------------------- breakpoints
def test_run_to_stops_before_its_step_and_breakpoints_pause_on_the_way() -> None:
    pg = WorkflowPlayground()
    pg.load(chain_workflow(6))
    assert [s.step_name for s in pg.run_to("add2")] == ["seed", "add0", "add1"]
    assert pg.last_stop.reason is StopReason.TARGET and pg.peek().name == "add2"  # type: ignore[union-attr]

    bp = pg.add_breakpoint("add4")
    assert [s.step_name for s in pg.continue_()] == ["add2", "add3"]
    assert pg.last_stop.reason is StopReason.BREAKPOINT and pg.last_stop.breakpoint is bp  # type: ignore[union-attr]
    assert [s.step_name for s in pg.continue_()] == ["add4"]  # resumes past its own breakpoint
    assert pg.last_stop.reason is StopReason.END  # type: ignore[union-attr]
    assert pg.summary()["breakpoints"] == ["before 'add4'"]


def test_condition_breakpoints_watch_the_context() -> None:
    pg = WorkflowPlayground()
    pg.load(chain_workflow(8))

    def big_total(ctx: Any) -> bool:
        return ctx.get_output("add2", "total", 0) > 10

    watch = pg.add_breakpoint(when=lambda ctx: ctx.latest.get("x", 0) >= 8)
    ran = pg.continue_()
    assert ran[-1].step_name == "add1" and ran[-1].output["x"] == 8
    assert pg.last_stop.reason is StopReason.CONDITION and pg.last_stop.breakpoint is watch  # type: ignore[union-attr]
    pg.remove_breakpoint(watch)
    pg.add_breakpoint("add4", when=big_total)
    assert pg.continue_()[-1].step_name == "add3"
    pg.clear_breakpoints()
    pg.add_breakpoint(when=lambda ctx: 1 / 0)
    with pytest.raises(BreakpointError, match="ZeroDivisionError"):
        pg.continue_()


def test_break_on_failure_can_be_turned_off() -> None:
    wf = Workflow("dq", [*debug_workflow().steps,
                         Step.lambda_("after", lambda ctx, config: {}, on_error=ErrorPolicy.STOP)])
    pg = WorkflowPlayground()
    pg.load(wf)
    pg.break_on_failure = False
    assert pg.continue_()[-1].step_name == "validate"
    assert pg.last_stop.reason is StopReason.HALTED and pg.last_stop.step == "validate"  # type: ignore[union-attr]
    assert pg.continue_() == [] and [s.name for s in pg.remaining_steps] == ["after"]


def test_interrupt_pauses_before_the_next_step() -> None:
    pg = WorkflowPlayground()
    wf = Workflow("stop", [Step.lambda_("a", lambda ctx, config: pg.interrupt()),
                           Step.lambda_("b", lambda ctx, config: {})])
    pg.load(wf)
    assert [s.step_name for s in pg.continue_()] == ["a"]
    assert pg.last_stop.reason is StopReason.INTERRUPTED and pg.last_stop.step == "b"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- parallel
def test_parallel_steps_go_in_plan_order_and_the_frontier_runs_concurrently() -> None:
    barrier = threading.Barrier(3, timeout=BARRIER_TIMEOUT)

    def branch(name: str) -> Any:
        def handler(ctx: Any, config: Any) -> dict[str, Any]:
            barrier.wait()
            return {name: ctx.get_output("root", "v")}
        return handler

    wf = Workflow("fan", [
        Step.lambda_("root", lambda ctx, config: {"v": 1}),
        *(Step.lambda_(n, branch(n), depends_on=["root"]) for n in ("a", "b", "c")),
        Step.lambda_("join", lambda ctx, config: {"n": len(ctx.outputs)},
                     depends_on=["a", "b", "c"]),
    ], execution_policy=WorkflowExecutionPolicy(mode=ExecutionMode.PARALLEL, max_concurrency=3))
    pg = WorkflowPlayground()
    pg.load(wf)
    pg.step()
    with pytest.raises(StepNotReadyError, match="waits for"):
        pg.step("join")
    frontier = pg.step_ready()  # would deadlock on the barrier if run one at a time
    assert [s.step_name for s in frontier] == ["a", "b", "c"]
    assert pg.step().output == {"n": 4}

    pg.goto(1)
    barrier = threading.Barrier(1)
    assert pg.step("c").step_name == "c" and pg.step().step_name == "a"


# --------------------------------------------------------------------------- persisted runs
class ResultRuns:
    """A ``RunSource`` over runs kept in memory (the SQLite store implements the same)."""

    def __init__(self) -> None:
        self.runs: dict[str, RecordedRun] = {}

    def add(self, workflow: Workflow, params: dict[str, Any] | None = None) -> str:
        result = WorkflowRunner().execute(workflow, params)
        self.runs[result.run_id] = RecordedRun.from_result(workflow, result)
        return result.run_id

    def recorded_run(self, run_id: str) -> RecordedRun:
        return self.runs[run_id]


def test_load_run_opens_a_persisted_run_at_any_step() -> None:
    store = ResultRuns()
    run_id = store.add(chain_workflow(4), {"start": 3})
    live = store.runs[run_id]
    calls.clear()

    pg = WorkflowPlayground()
    pg.load_run(run_id, store, at="add1")
    assert pg.source_run_id == run_id and pg.run_id != run_id
    assert list(pg.outputs) == ["seed", "add0"] and pg.peek().name == "add1"  # type: ignore[union-attr]
    assert pg.history[-1].kind is SnapshotKind.RESTORED and not calls
    assert dict(pg.goto(4).outputs) == {r.name: r.output for r in live.steps}  # the rest, restored
    pg.goto(2)
    assert pg.continue_()[-1].output == live.steps[-1].output  # replay = recorded run
    assert calls == {"add": 2}

    pg.load_run(run_id, store, at=0)
    assert pg.position == 0 and len(pg.snapshots) == 5 and pg.params == {"start": 3}


def test_load_run_of_a_failed_run_can_be_fixed_and_finished() -> None:
    store = ResultRuns()
    wf = debug_workflow()
    run_id = store.add(wf)
    pg = WorkflowPlayground()
    pg.load_run(run_id, store)
    assert pg.status is RunStatus.FAILED and pg.current.step_name == "validate"
    pg.set_param("max_value", 10)
    assert pg.rerun("validate").status is RunStatus.COMPLETED and pg.status is RunStatus.COMPLETED
    assert calls == {"fetch": 1, "transform": 1, "validate": 2}


def test_load_run_rejects_runs_that_do_not_match_their_workflow() -> None:
    store = ResultRuns()
    run_id = store.add(chain_workflow(4))
    pg = WorkflowPlayground()
    pg.load(debug_workflow())
    store.runs[run_id] = RecordedRun(run_id, chain_workflow(2), {}, store.runs[run_id].steps)
    unchanged_after(pg, RecordedRunError, lambda: pg.load_run(run_id, store), "add1")
    unchanged_after(pg, RecordedRunError, lambda: pg.load_run(run_id, object()),  # type: ignore[arg-type]
                    "recorded_run")
    good = store.add(chain_workflow(3))
    unchanged_after(pg, PlaygroundStepError, lambda: pg.load_run(good, store, at="nope"))
    unchanged_after(pg, SnapshotIndexError, lambda: pg.load_run(good, store, at=9))


# --------------------------------------------------------------------------- composite steps
def enrich(source: list[int], factor: int = 1) -> dict[str, Any]:
    calls["enrich"] += 1
    return {"enriched": [x * factor for x in source]}


def count(enriched: list[int]) -> dict[str, Any]:
    return {"count": len(enriched)}


def parent_workflow() -> Workflow:
    register_workflow(Workflow("child.enrich", [Step.from_function("enrich", enrich),
                                                Step.from_function("count", count)]))
    return Workflow("parent", [
        Step.lambda_("fetch", lambda ctx, config: {"data": [1, 2, 3]}),
        Step.workflow("enrich", "child.enrich",
                      params={"source": "$.outputs.fetch.data", "factor": 10}),
        Step.lambda_("report", lambda ctx, config: {"total": sum(ctx.get_output("enrich",
                                                                                "enriched"))}),
    ])


def test_sub_workflow_steps_can_be_stepped_over_or_into() -> None:
    expected = WorkflowRunner().execute(parent_workflow())
    over = WorkflowPlayground()
    over.load(parent_workflow())
    over.continue_()
    assert over.outputs == expected.outputs

    events: list[Event] = []
    pg = WorkflowPlayground(WorkflowRunner(listeners=[events.append]))
    pg.load(parent_workflow())
    pg.step()
    child = pg.step_into()
    assert pg.child is child and child.params == {"source": [1, 2, 3], "factor": 10}
    assert child.context.get_output("fetch", "data") == [1, 2, 3]  # inherited context
    with pytest.raises(ChildActiveError, match="step_out"):
        pg.step()
    assert child.step().output == {"enriched": [10, 20, 30]}
    child.step_back()
    child.set_param("factor", 2)
    snap = pg.step_out()
    assert snap.output == {"enriched": [2, 4, 6], "count": 3}
    assert snap.run is not None and snap.run.child_run_id == child.run_id
    assert pg.child is None and pg.step().output == {"total": 12}
    parent_steps = [(type(e).__name__, e.step) for e in events  # type: ignore[attr-defined]
                    if isinstance(e, StepStarted | StepFinished) and e.run_id == pg.run_id]
    assert parent_steps[2:4] == [("StepStarted", "enrich"), ("StepFinished", "enrich")]

    pg.goto(1)
    pg.step_into()
    pg.abandon()
    assert pg.peek().name == "enrich" and pg.position == 1  # type: ignore[union-attr]
    pg.goto(0)
    with pytest.raises(StepIntoError, match="only sub-workflow and map"):
        pg.step_into()


def double(item: int) -> dict[str, Any]:
    return {"value": item * 2}


def label(value: int, tag: str = "") -> dict[str, Any]:
    return {"label": f"{tag}{value}"}


def test_map_steps_step_into_items_and_into_an_item_chain() -> None:
    wf = Workflow("mapper", [
        Step.lambda_("load", lambda ctx, config: {"items": [3, 1, 2]}),
        Step.map("fan", items_path="$.outputs.load.items", config={"tag": "#"},
                 iterator_steps=[Step.from_function("double", double),
                                 Step.from_function("label", label)]),
    ])
    expected = WorkflowRunner().execute(wf).outputs["fan"]
    assert expected["results"][0] == {"label": "#6"}

    pg = WorkflowPlayground()
    pg.load(wf)
    pg.step()
    items = pg.step_into()
    assert [s.name for s in items.remaining_steps] == ["fan[0]", "fan[1]", "fan[2]"]
    assert items.step().output == {"label": "#6"}  # item 0, stepped over
    item = items.step_into()  # item 1, one iterator step at a time
    assert item.params == pg.params and item.step().output == {"value": 2}
    assert item.step().output == {"label": "#2"}
    items.step_out()
    assert pg.step_out().output == expected


# --------------------------------------------------------------------------- memory
def test_snapshots_share_outputs_instead_of_copying_them() -> None:
    """200 steps holding 1 MB each stay within ~2x the live data, through rewinds and edits."""
    steps, size = 200, 1_000_000

    def big(ctx: Any, config: Any) -> dict[str, Any]:
        return {"blob": f"{len(ctx.outputs):07d}" * (size // 7)}

    wf = Workflow("big", [Step.lambda_(f"s{i}", big) for i in range(steps)])
    pg = WorkflowPlayground()
    pg.load(wf)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(1, steps + 1):
            pg.step()
            used = tracemalloc.get_traced_memory()[0] - base
            assert used <= 2 * i * size, f"after {i} steps: {used / 1e6:.1f} MB"
        live = tracemalloc.get_traced_memory()[0] - base
        pg.rewind(150)
        pg.goto(steps)
        pg.set_param("k", 1)
        pg.step_back()
        pg.diff(0, steps)
        assert tracemalloc.get_traced_memory()[0] - base <= live + 1_000_000
        assert live <= 1.1 * steps * size
    finally:
        tracemalloc.stop()
    final = pg.outputs
    for snap in pg.snapshots:  # every snapshot holds the very objects the run produced
        assert all(value is final[name] for name, value in snap.outputs.items())


# --------------------------------------------------------------------------- loading
def test_load_takes_managed_workflows_and_defaults_and_refuses_unknown_pipelines() -> None:
    managed = engine.ManagedWorkflow("managed").step("seed", seed).step("add", add).build()
    pg = WorkflowPlayground()
    pg.load(managed, params={"start": 4})
    assert pg.params == {"start": 4} and pg.status is RunStatus.PENDING
    pg.load(chain_workflow(2))
    assert pg.params == {"start": 2}
    unchanged_after(pg, engine.UnknownPipelineError,
                    lambda: pg.load(Workflow("p", [Step.pipeline("x", "no.such.pipeline")])),
                    "register")


def test_reset_starts_over_with_a_fresh_run_and_keeps_breakpoints() -> None:
    pg = WorkflowPlayground()
    pg.load(chain_workflow(3), run_id="first")
    bp = pg.add_breakpoint("add1")
    pg.continue_()
    pg.set_param("start", 9)
    pg.reset()
    assert (pg.position, len(pg.snapshots), dict(pg.params)) == (0, 1, {"start": 2})
    assert pg.run_id != "first" and pg.breakpoints == (bp,)
    pg.load(debug_workflow())  # breakpoints on steps the new workflow lacks are dropped
    assert pg.breakpoints == ()


def test_abandoning_a_stepped_into_child_records_nothing_and_closes_its_events() -> None:
    events: list[Event] = []
    pg = WorkflowPlayground(WorkflowRunner(listeners=[events.append]))
    pg.load(parent_workflow())
    pg.step()
    pg.step_into().step()
    before = len(pg.snapshots)
    pg.abandon()
    assert len(pg.snapshots) == before and pg.child is None
    last = [e for e in events if isinstance(e, StepFinished) and e.run_id == pg.run_id][-1]
    assert (last.step, last.status) == ("enrich", "cancelled")


def test_detached_child_records_its_run_id() -> None:
    register_workflow(Workflow("child.leaf", [Step.lambda_("leaf", lambda ctx, config: {})]))
    pg = WorkflowPlayground()
    pg.load(Workflow("fire", [Step.workflow("kick", "child.leaf", wait=False)]))
    child = pg.step_into()
    assert pg.step_out().output == {"child_run_id": child.run_id}
