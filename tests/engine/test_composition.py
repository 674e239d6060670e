"""Composite steps: sub-workflows (``Step.workflow``) and fan-out (``Step.map``)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from engine import (
    ErrorPolicy,
    Event,
    ExecutionMode,
    RunFinished,
    RunStarted,
    RunStatus,
    Step,
    StepResult,
    UnknownWorkflowError,
    Workflow,
    WorkflowContext,
    WorkflowCycleError,
    WorkflowExecutionPolicy,
    WorkflowRunner,
    list_workflows,
    register_workflow,
)

pytestmark = pytest.mark.usefixtures("clean_registry")

WAIT_TIMEOUT = 5.0


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self.lock:
            self.events.append(event)

    def finished(self, run_id: str) -> list[RunFinished]:
        with self.lock:
            return [e for e in self.events if isinstance(e, RunFinished) and e.run_id == run_id]


def fetch(ctx: Any, config: Any) -> dict[str, Any]:
    return {"data": [1, 2, 3]}


def enrich(source: list[int], factor: int = 1) -> dict[str, Any]:
    return {"enriched": [x * factor for x in source]}


def count(enriched: list[int]) -> dict[str, Any]:
    return {"count": len(enriched)}


def report(enriched: list[int], count: int) -> dict[str, Any]:
    return {"report": f"{count} rows, total {sum(enriched)}"}


def region_of(region: str) -> dict[str, Any]:
    return {"region_seen": region}


def read_parent_output(ctx: WorkflowContext, config: Any) -> dict[str, Any]:
    return {"parent_data": ctx.get_output("fetch", "data")}


def bad_quality(ctx: Any, config: Any) -> StepResult:
    return StepResult.fail("null ids", category="DATA_QUALITY")


def double(item: int) -> dict[str, Any]:
    return {"value": item * 2}


def describe(**config: Any) -> dict[str, Any]:
    return {"seen": dict(config)}


def leaf(ctx: Any, config: Any) -> dict[str, Any]:
    return {"leaf": True}


def register_enrichment() -> None:
    register_workflow(Workflow("child.enrich", [Step.from_function("enrich", enrich),
                                                Step.from_function("count", count)]))


# --------------------------------------------------------------------------- sub-workflows
def test_waited_child_outputs_are_merged_into_the_parent_step_output() -> None:
    register_enrichment()
    parent = Workflow("parent", [
        Step.lambda_("fetch", fetch),
        Step.workflow("enrich", "child.enrich",
                      params={"source": "$.outputs.fetch.data", "factor": 10}),
        Step.from_function("report", report),
    ])
    result = WorkflowRunner().execute(parent)
    assert result.status is RunStatus.COMPLETED, result.error
    assert result.outputs["enrich"] == {"enriched": [10, 20, 30], "count": 3}
    assert result.outputs["report"] == {"report": "3 rows, total 60"}
    assert result.steps["enrich"].child_run_id is not None


def test_child_run_is_linked_to_its_parent_in_events() -> None:
    register_enrichment()
    recorder = Recorder()
    parent = Workflow("parent", [
        Step.lambda_("fetch", fetch),
        Step.workflow("enrich", "child.enrich", params={"source": "$.outputs.fetch.data"}),
    ])
    result = WorkflowRunner(listeners=[recorder]).execute(parent)
    child_id = result.steps["enrich"].child_run_id
    child_start = [e for e in recorder.events if isinstance(e, RunStarted) and e.run_id == child_id]
    assert len(child_start) == 1
    assert child_start[0].parent_run_id == result.run_id
    assert child_start[0].workflow == "child.enrich"
    assert child_start[0].params == {"source": [1, 2, 3]}
    assert recorder.finished(child_id)[0].status == "completed"


def test_inherited_context_passes_params_and_explicit_params_win() -> None:
    register_workflow(Workflow("child.region", [Step.from_function("region", region_of)]))
    inherit = Workflow("parent", [Step.workflow("child", "child.region")])
    override = Workflow("parent", [Step.workflow("child", "child.region",
                                                 params={"region": "us"})])
    assert WorkflowRunner().execute(inherit, {"region": "eu"}).outputs["child"] == {
        "region_seen": "eu"}
    assert WorkflowRunner().execute(override, {"region": "eu"}).outputs["child"] == {
        "region_seen": "us"}


def test_without_inherit_context_the_child_sees_only_explicit_params() -> None:
    register_workflow(Workflow("child.region", [Step.from_function("region", region_of)]))
    parent = Workflow("parent", [Step.workflow("child", "child.region", inherit_context=False)])
    result = WorkflowRunner().execute(parent, {"region": "eu"})
    assert result.status is RunStatus.FAILED
    assert "needs argument 'region'" in (result.steps["child"].error or "")


def test_inherited_context_lets_the_child_read_parent_outputs() -> None:
    register_workflow(Workflow("child.reader", [Step.lambda_("read", read_parent_output)]))
    parent = Workflow("parent", [Step.lambda_("fetch", fetch),
                                 Step.workflow("child", "child.reader")])
    isolated = Workflow("parent", [Step.lambda_("fetch", fetch),
                                   Step.workflow("child", "child.reader", inherit_context=False)])
    assert WorkflowRunner().execute(parent).outputs["child"] == {"parent_data": [1, 2, 3]}
    assert WorkflowRunner().execute(isolated).outputs["child"] == {"parent_data": None}


def test_seeded_outputs_are_readable_but_not_part_of_the_result() -> None:
    wf = Workflow("child.reader", [Step.lambda_("read", read_parent_output)])
    result = WorkflowRunner().execute(wf, seed_outputs={"fetch": {"data": [7]}})
    assert result.outputs == {"read": {"parent_data": [7]}}


def test_params_reference_that_does_not_resolve_fails_the_step() -> None:
    register_enrichment()
    parent = Workflow("parent", [
        Step.lambda_("fetch", fetch),
        Step.workflow("enrich", "child.enrich", params={"source": "$.outputs.fetch.missing"}),
    ])
    result = WorkflowRunner().execute(parent)
    assert result.status is RunStatus.FAILED
    assert "'$.outputs.fetch.missing' does not resolve" in (result.steps["enrich"].error or "")


def test_failing_child_fails_the_parent_step_with_the_child_category() -> None:
    register_workflow(Workflow("child.bad", [Step.lambda_("ok", leaf),
                                             Step.lambda_("check", bad_quality)]))
    parent = Workflow("parent", [Step.workflow("validate", "child.bad"),
                                 Step.lambda_("after", leaf)])
    result = WorkflowRunner().execute(parent)
    step = result.steps["validate"]
    assert result.status is RunStatus.FAILED and result.error_step == "validate"
    assert step.error_category == "DATA_QUALITY"
    assert f"sub-workflow 'child.bad' (run {step.child_run_id}) failed" in (step.error or "")
    assert "step 'check' failed: null ids" in (step.error or "")
    assert result.steps["after"].status is RunStatus.SKIPPED


def test_fire_and_forget_returns_at_once_and_the_child_really_runs() -> None:
    gate = threading.Event()
    ran: list[str] = []

    def gated(ctx: Any, config: Any) -> dict[str, Any]:
        if not gate.wait(WAIT_TIMEOUT):
            raise TimeoutError("gate never opened")
        ran.append(ctx.run_id)
        return {"sent": True}

    register_workflow(Workflow("child.notify", [Step.lambda_("send", gated)]))
    recorder = Recorder()
    runner = WorkflowRunner(listeners=[recorder])
    parent = Workflow("parent", [Step.workflow("notify", "child.notify", wait=False),
                                 Step.lambda_("after", leaf)])
    try:
        result = runner.execute(parent)
        child_id = result.outputs["notify"]["child_run_id"]
        assert result.status is RunStatus.COMPLETED
        assert result.outputs["notify"] == {"child_run_id": child_id}
        assert result.steps["notify"].child_run_id == child_id
        assert recorder.finished(child_id) == []  # the parent did not wait for it
    finally:
        gate.set()
    runner.wait_for_background(timeout=WAIT_TIMEOUT)
    assert ran == [child_id]
    assert recorder.finished(child_id)[0].status == "completed"


def test_wait_for_background_also_waits_for_grandchildren() -> None:
    hold, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def waiting_on(gate: threading.Event) -> Any:
        def handler(ctx: Any, config: Any) -> dict[str, Any]:
            gate.wait(WAIT_TIMEOUT)
            ran.append(ctx.workflow_name)
            return {}

        return handler

    # the child starts the grandchild only after wait_for_background has begun waiting
    register_workflow(Workflow("grandchild", [Step.lambda_("slow", waiting_on(release))]))
    register_workflow(Workflow("child", [Step.lambda_("hold", waiting_on(hold)),
                                         Step.workflow("spawn", "grandchild", wait=False)]))
    runner = WorkflowRunner()
    runner.execute(Workflow("parent", [Step.workflow("spawn", "child", wait=False)]))
    timers = [threading.Timer(0.05, hold.set), threading.Timer(0.15, release.set)]
    for timer in timers:
        timer.start()
    try:
        runner.wait_for_background(timeout=WAIT_TIMEOUT)
        assert ran == ["child", "grandchild"]
    finally:
        hold.set()
        release.set()
        for timer in timers:
            timer.cancel()


def test_cancelling_the_parent_cancels_a_waited_child() -> None:
    cancel = threading.Event()
    ran: list[str] = []

    def cancel_now(ctx: Any, config: Any) -> None:
        cancel.set()

    def record(ctx: Any, config: Any) -> None:
        ran.append(ctx.workflow_name)

    register_workflow(Workflow("child.long", [Step.lambda_("first", cancel_now),
                                              Step.lambda_("second", record)]))
    parent = Workflow("parent", [Step.workflow("child", "child.long",
                                               on_error=ErrorPolicy.RETRY),
                                 Step.lambda_("after", record)])
    result = WorkflowRunner().execute(parent, cancel=cancel)
    assert ran == []
    assert result.status is RunStatus.CANCELLED and result.error_step is None
    child = result.steps["child"]
    assert child.status is RunStatus.CANCELLED and child.attempts == 1  # never retried
    assert child.error_category == "CANCELLED"
    assert result.steps["after"].status is RunStatus.CANCELLED


def test_cancel_stops_map_items_not_yet_started() -> None:
    cancel = threading.Event()
    seen: list[int] = []

    def item_handler(item: int) -> dict[str, Any]:
        seen.append(item)
        if item == 1:
            cancel.set()
        return {"value": item}

    wf = map_workflow([0, 1, 2, 3], Step.from_function("h", item_handler), max_concurrency=1)
    result = WorkflowRunner().execute(wf, cancel=cancel)
    assert seen == [0, 1]
    assert result.status is RunStatus.CANCELLED
    assert result.steps["fan"].status is RunStatus.CANCELLED


def test_mutual_recursion_is_refused_at_registration() -> None:
    register_workflow(Workflow("a", [Step.workflow("call_b", "b")]))
    with pytest.raises(WorkflowCycleError) as info:
        register_workflow(Workflow("b", [Step.workflow("call_a", "a")]))
    assert info.value.chain == ["b", "a", "b"]
    assert "b -> a -> b" in str(info.value)
    assert "b" not in list_workflows()


def test_self_recursion_is_refused_at_registration() -> None:
    with pytest.raises(WorkflowCycleError, match="self -> self"):
        register_workflow(Workflow("self", [Step.workflow("again", "self")]))


def test_cycle_through_an_unregistered_version_is_caught_at_run_time() -> None:
    register_workflow(Workflow("rt.a", [Step.lambda_("leaf", leaf)]))
    register_workflow(Workflow("rt.b", [Step.workflow("call_a", "rt.a")]))
    edited_a = Workflow("rt.a", [Step.workflow("call_b", "rt.b")])  # not registered
    recorder = Recorder()
    with pytest.raises(WorkflowCycleError) as info:
        WorkflowRunner(listeners=[recorder]).execute(edited_a)
    assert info.value.chain == ["rt.a", "rt.b", "rt.a"]
    outer = [e for e in recorder.events if isinstance(e, RunFinished) and e.workflow == "rt.a"]
    assert [e.status for e in outer] == ["failed"]
    assert "sub-workflow cycle" in (outer[0].error or "")


def test_unregistered_workflow_calling_itself_is_a_cycle_not_an_unknown_workflow() -> None:
    loop = Workflow("loop", [Step.workflow("again", "loop")])
    with pytest.raises(WorkflowCycleError, match="loop -> loop"):
        WorkflowRunner().execute(loop)


def test_the_failed_step_records_the_definition_error() -> None:
    loop = Workflow("loop", [Step.lambda_("first", leaf), Step.workflow("again", "loop")])
    recorder = Recorder()
    with pytest.raises(WorkflowCycleError):
        WorkflowRunner(listeners=[recorder]).execute(loop)
    finished = [e for e in recorder.events if type(e).__name__ == "StepFinished"]
    assert [(e.step, e.status) for e in finished] == [("first", "completed"), ("again", "failed")]
    assert "sub-workflow cycle" in (finished[-1].error or "")
    assert finished[-1].error_type == "WorkflowCycleError"


def test_unknown_child_workflow_raises_from_execute() -> None:
    parent = Workflow("parent", [Step.workflow("child", "nobody.here")])
    with pytest.raises(UnknownWorkflowError, match="nobody.here"):
        WorkflowRunner().execute(parent)


# --------------------------------------------------------------------------- map
class Gauge:
    """Counts how many map items run at once; a barrier forces pairs to overlap."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=WAIT_TIMEOUT)
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    def __call__(self, item: int) -> dict[str, Any]:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            self.barrier.wait()
            time.sleep(0.02)  # room for an item over the limit to show up
        finally:
            with self.lock:
                self.active -= 1
        return {"value": item}


def map_workflow(items: Any, *iterator: Step, **map_kwargs: Any) -> Workflow:
    def load(ctx: Any, config: Any) -> dict[str, Any]:
        return {"items": items}

    return Workflow("mapper", [
        Step.lambda_("load", load),
        Step.map("fan", items_path="$.outputs.load.items", iterator_steps=iterator, **map_kwargs),
    ])


def test_map_results_keep_item_order() -> None:
    wf = map_workflow([3, 1, 2, 5], Step.from_function("double", double), max_concurrency=3)
    result = WorkflowRunner().execute(wf)
    assert result.outputs["fan"] == {"results": [{"value": 6}, {"value": 2}, {"value": 4},
                                                 {"value": 10}], "count": 4}


def test_map_honours_max_concurrency() -> None:
    gauge = Gauge(parties=2)
    wf = map_workflow(list(range(6)), Step.from_function("g", gauge), max_concurrency=2)
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.COMPLETED, result.error
    assert gauge.max_active == 2
    assert [r["value"] for r in result.outputs["fan"]["results"]] == list(range(6))


def pick(id: int, mode: str, m: int, s: int) -> dict[str, Any]:
    return {"seen": {"id": id, "mode": mode, "m": m, "s": s}}


def test_dict_items_become_config_over_map_and_step_config() -> None:
    wf = map_workflow([{"id": 1, "mode": "item"}, {"id": 2}],
                      Step.from_function("pick", pick, config={"mode": "step", "s": 1}),
                      config={"mode": "map", "m": 1})
    results = WorkflowRunner().execute(wf).outputs["fan"]["results"]
    assert results[0]["seen"] == {"id": 1, "mode": "item", "m": 1, "s": 1}
    assert results[1]["seen"] == {"id": 2, "mode": "step", "m": 1, "s": 1}


def test_iterator_steps_chain_and_the_last_output_is_the_result() -> None:
    def add_one(value: int) -> dict[str, Any]:
        return {"value": value + 1, "extra": "last"}

    wf = map_workflow([1, 2], Step.from_function("double", double),
                      Step.from_function("add_one", add_one))
    assert WorkflowRunner().execute(wf).outputs["fan"]["results"] == [
        {"value": 3, "extra": "last"}, {"value": 5, "extra": "last"}]


def test_partition_by_groups_items_in_first_seen_order() -> None:
    items = [{"day": "mon", "v": 1}, {"day": "tue", "v": 2}, {"day": "mon", "v": 3}, {"v": 4}]
    wf = map_workflow(items, Step.from_function("describe", describe), partition_by="day")
    out = WorkflowRunner().execute(wf).outputs["fan"]
    assert out["count"] == 3
    assert [r["seen"] for r in out["results"]] == [
        {"day": "mon", "items": [items[0], items[2]]},
        {"day": "tue", "items": [items[1]]},
        {"day": None, "items": [items[3]]},
    ]


def test_failed_items_fail_the_map_and_say_which() -> None:
    def picky(item: int) -> dict[str, Any] | StepResult:
        if item % 2:
            return StepResult.fail(f"odd item {item}", category="DATA_QUALITY")
        return {"value": item}

    wf = map_workflow([0, 1, 2, 3], Step.from_function("picky", picky), max_concurrency=2)
    result = WorkflowRunner().execute(wf)
    fan = result.steps["fan"]
    assert result.status is RunStatus.FAILED
    assert fan.error == "map step 'fan': 2 of 4 items failed; item 1: picky: odd item 1"
    assert fan.error_category == "DATA_QUALITY"
    assert fan.output["results"] == [{"value": 0}, None, {"value": 2}, None]
    assert fan.output["errors"] == {"1": "picky: odd item 1", "3": "picky: odd item 3"}


def test_empty_list_maps_to_no_results_without_calling_the_iterator() -> None:
    calls: list[Any] = []

    def never(item: Any) -> dict[str, Any]:
        calls.append(item)
        return {}

    result = WorkflowRunner().execute(map_workflow([], Step.from_function("never", never)))
    assert result.outputs["fan"] == {"results": [], "count": 0}
    assert calls == []


@pytest.mark.parametrize(("items_path", "message"), [
    ("$.outputs.load.nothing", "does not resolve"),
    ("$.outputs.load.name", "is a str, expected a list"),
])
def test_bad_items_path_fails_as_data_quality(items_path: str, message: str) -> None:
    def load(ctx: Any, config: Any) -> dict[str, Any]:
        return {"name": "x"}

    wf = Workflow("m", [Step.lambda_("load", load),
                        Step.map("fan", items_path=items_path,
                                 iterator_steps=[Step.from_function("d", double)])])
    result = WorkflowRunner().execute(wf)
    assert result.steps["fan"].error_category == "DATA_QUALITY"
    assert message in (result.steps["fan"].error or "")


def test_map_reads_items_from_params_inside_a_parallel_workflow() -> None:
    wf = Workflow("m", [
        Step.map("fan", items_path="$.params.items",
                 iterator_steps=[Step.from_function("d", double)], depends_on=[]),
        Step.lambda_("other", leaf, depends_on=[]),
    ], execution_policy=WorkflowExecutionPolicy(mode=ExecutionMode.PARALLEL))
    result = WorkflowRunner().execute(wf, {"items": [1, 2]})
    assert result.outputs["fan"]["results"] == [{"value": 2}, {"value": 4}]


def test_failed_map_with_continue_lets_the_run_complete() -> None:
    def broken(item: int) -> dict[str, Any]:
        raise ValueError(f"cannot handle {item}")

    wf = map_workflow([1], Step.from_function("broken", broken), on_error=ErrorPolicy.CONTINUE)
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.COMPLETED
    assert result.steps["fan"].status is RunStatus.FAILED
    assert "ValueError: cannot handle 1" in (result.steps["fan"].error or "")


def test_waited_subworkflow_times_out_and_the_child_is_cancelled() -> None:
    release = threading.Event()
    ran_second: list[bool] = []

    def slow(ctx: Any, config: Any) -> dict[str, Any]:
        release.wait(WAIT_TIMEOUT)
        return {}

    def second(ctx: Any, config: Any) -> dict[str, Any]:
        ran_second.append(True)
        return {}

    register_workflow(Workflow("timeout.child", steps=[Step.lambda_("slow", slow),
                                                       Step.lambda_("second", second)]))
    recorder = Recorder()
    runner = WorkflowRunner(listeners=[recorder])
    parent = Workflow("timeout.parent", steps=[
        Step.workflow("call", "timeout.child", timeout_seconds=0.2)])
    result = runner.execute(parent)
    assert result.status == RunStatus.FAILED
    assert result.steps["call"].error_category == "TIMEOUT"
    assert "exceeded the step timeout" in (result.steps["call"].error or "")
    child_id = result.steps["call"].child_run_id
    release.set()
    deadline = time.monotonic() + WAIT_TIMEOUT
    while not recorder.finished(child_id) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert recorder.finished(child_id)[0].status == "cancelled"
    assert ran_second == []


def test_map_item_events_are_scoped_by_item_index() -> None:
    from engine import StepFinished

    recorder = Recorder()

    def item_handler(item: int) -> dict[str, Any]:
        return {"value": item}

    wf = map_workflow([5, 6], Step.from_function("h", item_handler), max_concurrency=1)
    WorkflowRunner(listeners=[recorder]).execute(wf)
    names = [e.step for e in recorder.events if isinstance(e, StepFinished)]
    assert "fan[0].h" in names and "fan[1].h" in names
