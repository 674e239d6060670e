"""Breakpoint conditions typed as expressions: compiling with clear errors, evaluating over
``params``/``outputs``/``ctx``, and pausing (not failing) when an expression raises."""

from __future__ import annotations

from typing import Any

import pytest

from engine import Step, Workflow
from engine.playground import (
    BreakpointError,
    ConditionSyntaxError,
    ContextView,
    ExpressionCondition,
    Snapshot,
    StopReason,
    WorkflowPlayground,
    expression_condition,
)


def rows(n: int = 150) -> dict[str, Any]:
    return {"rows": n}


def counter_workflow() -> Workflow:
    """``load`` -> ``bump0`` .. ``bump3``: each bump adds 10 to ``total``."""
    steps = [Step.lambda_("load", lambda ctx, config: {"rows": 150, "total": 0})]
    for i in range(4):
        steps.append(Step.lambda_(f"bump{i}", lambda ctx, config: {
            "total": ctx.latest["total"] + 10}))
    return Workflow("exprs", steps, defaults={"region": "eu", "limit": 25})


def view_after(steps: int) -> ContextView:
    pg = WorkflowPlayground()
    pg.load(counter_workflow())
    for _ in range(steps):
        pg.step()
    return pg.context


def test_an_expression_sees_params_outputs_and_ctx() -> None:
    ctx = view_after(2)
    cases = {
        'outputs["load"]["rows"] > 100': True,
        'params["region"] == "eu"': True,
        'ctx.get_output("bump0", "total") == 10': True,
        'ctx.latest["total"] >= params["limit"]': False,
        "any(v > params['limit'] for v in [ctx.latest['total'], 30])": True,
        "len([k for k in outputs if k.startswith('bump')]) == 1": True,
        "(lambda t: t * 2)(ctx.get('total')) == 20": True,
        "'bump1' in outputs": False,
    }
    for text, expected in cases.items():
        assert bool(expression_condition(text)(ctx)) is expected, text


def test_the_text_is_kept_and_shown_by_describe() -> None:
    cond = expression_condition('  outputs["load"]["rows"] > 100 ')
    assert isinstance(cond, ExpressionCondition) and cond.text == 'outputs["load"]["rows"] > 100'
    pg = WorkflowPlayground()
    pg.load(counter_workflow())
    bp = pg.add_breakpoint("bump1", when=cond)
    watch = pg.add_breakpoint(when="params['region'] == 'eu'")  # text compiles too
    assert bp.describe() == "before 'bump1' if outputs[\"load\"][\"rows\"] > 100"
    assert watch.describe() == "when params['region'] == 'eu'"
    assert (bp.expression, bp.conditional) == ('outputs["load"]["rows"] > 100', True)
    assert pg.add_breakpoint("bump2").expression is None
    assert pg.summary()["breakpoints"][1] == "when params['region'] == 'eu'"


@pytest.mark.parametrize(("text", "column", "says"), [
    ('outputs["load"]["rows" > 100', 16, "does not parse"),
    ("params['region'] ==", 20, "does not parse"),
    ("x = 1", 3, "does not parse"),
    ("output['load'] > 1", 1, "unknown name 'output' at column 1; did you mean 'outputs'?"),
    ("params['n'] > limit", 15, "unknown name 'limit'"),
])
def test_a_bad_expression_names_itself_and_where_it_fails(text: str, column: int,
                                                          says: str) -> None:
    with pytest.raises(ConditionSyntaxError) as caught:
        expression_condition(text)
    error = caught.value
    assert isinstance(error, BreakpointError)
    assert (error.expression, error.column) == (text, column)
    message = str(error)
    assert says in message and repr(text) in message
    if "parse" in says:
        caret = message.splitlines()[-1]
        assert caret.index("^") - 2 == column - 1  # the caret sits under the column


def test_empty_and_non_text_conditions_are_refused() -> None:
    with pytest.raises(ConditionSyntaxError, match="the condition is empty"):
        expression_condition("   ")
    with pytest.raises(BreakpointError, match="must be a string"):
        expression_condition(42)  # type: ignore[arg-type]
    pg = WorkflowPlayground()
    pg.load(counter_workflow())
    with pytest.raises(ConditionSyntaxError):
        pg.add_breakpoint("bump1", when="outputs[")
    assert pg.breakpoints == ()


def names(snaps: list[Snapshot]) -> list[str | None]:
    return [s.step_name for s in snaps]


def test_a_step_breakpoint_with_an_expression_pauses_only_when_it_holds() -> None:
    pg = WorkflowPlayground()
    pg.load(counter_workflow())
    never = pg.add_breakpoint("bump1", when="ctx.latest['total'] > 1000")
    bp = pg.add_breakpoint("bump3", when="ctx.latest['total'] >= 20")
    assert names(pg.continue_()) == ["load", "bump0", "bump1", "bump2"]
    stop = pg.last_stop
    assert stop is not None and (stop.reason, stop.step, stop.breakpoint, stop.error) == (
        StopReason.BREAKPOINT, "bump3", bp, None)
    assert never.id != bp.id
    assert names(pg.continue_()) == ["bump3"]  # resumes past the breakpoint it stopped at


def test_a_watch_expression_pauses_after_the_step_that_made_it_true() -> None:
    pg = WorkflowPlayground()
    pg.load(counter_workflow())
    watch = pg.add_breakpoint(when="ctx.latest['total'] >= params['limit']")
    assert names(pg.continue_())[-1] == "bump2"
    stop = pg.last_stop
    assert stop is not None and stop.reason is StopReason.CONDITION
    assert (stop.step, stop.breakpoint) == ("bump2", watch)


def test_an_expression_that_raises_pauses_with_the_error_instead_of_failing() -> None:
    pg = WorkflowPlayground()
    pg.load(counter_workflow())
    bp = pg.add_breakpoint("bump1", when="outputs['nope']['rows'] > 1")
    assert names(pg.continue_()) == ["load", "bump0"]
    stop = pg.last_stop
    assert stop is not None and (stop.reason, stop.breakpoint) == (StopReason.BREAKPOINT, bp)
    assert stop.error == "KeyError: 'nope'"
    pg.remove_breakpoint(bp)
    watch = pg.add_breakpoint(when="1 / (ctx.latest['total'] - 20) > 0")
    assert names(pg.continue_()) == ["bump1"]
    stop = pg.last_stop
    assert stop is not None and stop.reason is StopReason.CONDITION and stop.breakpoint is watch
    assert stop.error is not None and stop.error.startswith("ZeroDivisionError")


def test_a_callable_that_raises_still_fails_the_continue() -> None:
    pg = WorkflowPlayground()
    pg.load(counter_workflow())
    pg.add_breakpoint(when=lambda ctx: 1 / 0)
    with pytest.raises(BreakpointError, match="ZeroDivisionError"):
        pg.continue_()


def test_snapshots_expose_their_records_and_halting_step_read_only() -> None:
    def boom(ctx: Any, config: Any) -> Any:
        raise RuntimeError("boom")

    pg = WorkflowPlayground()
    pg.load(Workflow("halts", [Step.lambda_("ok", lambda ctx, config: {}),
                               Step.lambda_("bad", boom)]))
    pg.continue_()
    snap = pg.current
    assert set(snap.runs) == {"ok", "bad"} and snap.halted_by == "bad"
    with pytest.raises(TypeError):
        snap.runs["ok"] = snap.runs["bad"]  # type: ignore[index]
    assert pg.snapshots[1].halted_by is None and set(pg.snapshots[1].runs) == {"ok"}
    assert [s.name for s in snap.steps] == ["ok", "bad"]
