"""Handler calling conventions: argument injection, and what a handler may return or raise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from engine import (
    InvalidReturnTypeError,
    MissingArgumentError,
    OutputNotSerializableError,
    RunStatus,
    Step,
    StepResult,
    Workflow,
    WorkflowContext,
    WorkflowRunner,
)
from engine.invoke import function_kwargs, normalize_result, signature_of


def ctx_style(ctx: Any, config: Any) -> None:
    return None


def context_cfg_style(context: Any, cfg: Any, extra: int = 1) -> None:
    return None


def needs_third(ctx: Any, config: Any, third: Any) -> None:
    return None


def plain(a: int, b: int = 2) -> dict[str, int]:
    return {"sum": a + b}


def takes_all(**kwargs: Any) -> dict[str, Any]:
    return dict(kwargs)


def wants_ctx(ctx: WorkflowContext, value: int) -> dict[str, Any]:
    return {"run": ctx.run_id, "value": value}


def value_of(value: Any) -> dict[str, Any]:
    return {"seen": value}


def emit(**outputs: Any) -> Any:
    """A handler factory target: returns whatever the step config says."""
    return outputs


def boom(ctx: Any, config: Any) -> None:
    raise ValueError("bad input row 7")


class Opaque:
    pass


@dataclass
class UnhashableCallable:
    """A dataclass with ``eq`` is unhashable; it must still work as a handler."""

    factor: int

    def __call__(self, n: int) -> dict[str, int]:
        return {"n": n * self.factor}


def run_one(step: Step, params: dict[str, Any] | None = None) -> Any:
    result = WorkflowRunner().execute(Workflow("w", [step]), params)
    return result.steps[step.name]


# --------------------------------------------------------------------------- signatures
@pytest.mark.parametrize(("fn", "expected"), [
    (ctx_style, True),
    (context_cfg_style, True),
    (needs_third, False),
    (plain, False),
    (takes_all, False),
    (wants_ctx, False),
])
def test_context_style_is_detected_from_parameter_names(fn: Any, expected: bool) -> None:
    assert signature_of(fn).context_style is expected


def test_signature_lists_names_required_and_var_keyword() -> None:
    sig = signature_of(plain)
    assert sig.names == ("a", "b") and sig.required == frozenset({"a"})
    assert not sig.var_keyword and signature_of(takes_all).var_keyword


# --------------------------------------------------------------------------- kwargs
def test_config_beats_params_beats_earlier_outputs() -> None:
    ctx = WorkflowContext("r", "w", params={"a": "param", "b": "param"})
    ctx.set_output("s1", {"a": "out1", "b": "out1", "c": "out1"})
    kwargs = function_kwargs(takes_all_abc, {"a": "config"}, ctx, "s")
    assert kwargs == {"a": "config", "b": "param", "c": "out1"}


def takes_all_abc(a: Any, b: Any, c: Any) -> None:
    return None


def test_latest_output_wins_among_earlier_steps() -> None:
    ctx = WorkflowContext("r", "w")
    ctx.set_output("first", {"value": 1})
    ctx.set_output("second", {"value": 2})
    assert function_kwargs(value_of, {}, ctx, "s") == {"value": 2}


def test_var_keyword_gets_everything_with_the_same_precedence() -> None:
    ctx = WorkflowContext("r", "w", params={"p": 1, "x": "param"})
    ctx.set_output("s1", {"o": 2, "x": "out"})
    assert function_kwargs(takes_all, {"c": 3}, ctx, "s") == {"o": 2, "p": 1, "x": "param",
                                                               "c": 3}


def test_ctx_parameter_receives_the_context() -> None:
    state = run_one(Step.from_function("s", wants_ctx, config={"value": 5}))
    assert state.status is RunStatus.COMPLETED
    assert state.output["value"] == 5 and len(state.output["run"]) == 16


def test_defaults_apply_when_nothing_provides_the_argument() -> None:
    ctx = WorkflowContext("r", "w")
    assert function_kwargs(plain, {"a": 1}, ctx, "s") == {"a": 1}
    assert run_one(Step.from_function("s", plain, config={"a": 1})).output == {"sum": 3}


def test_missing_required_argument_says_where_to_set_it() -> None:
    with pytest.raises(MissingArgumentError) as info:
        function_kwargs(plain, {}, WorkflowContext("r", "w"), "add")
    message = str(info.value)
    assert "step 'add'" in message and "plain()" in message and "'a'" in message
    assert "--param a=" in message


def test_missing_argument_fails_the_step_as_validation() -> None:
    state = run_one(Step.from_function("add", plain))
    assert state.status is RunStatus.FAILED
    assert state.error_type == "MissingArgumentError"
    assert state.error_category == "VALIDATION"
    assert "needs argument 'a'" in state.error


def test_unhashable_callable_is_a_valid_handler() -> None:
    state = run_one(Step.from_function("s", UnhashableCallable(3), config={"n": 2}))
    assert state.status is RunStatus.COMPLETED, state.error
    assert state.output == {"n": 6}


# --------------------------------------------------------------------------- returns
def test_dict_none_and_step_result_are_accepted() -> None:
    assert normalize_result("s", {"a": 1}) == StepResult(success=True, output={"a": 1})
    assert normalize_result("s", None).output == {}
    failed = StepResult.fail("nope", category="DATA_QUALITY")
    assert normalize_result("s", failed) is failed


def test_non_dict_return_is_rejected_with_advice() -> None:
    with pytest.raises(InvalidReturnTypeError) as info:
        normalize_result("count", 42)
    message = str(info.value)
    assert "step 'count' returned int (42)" in message
    assert "return a dict" in message


def test_non_dict_return_fails_the_step() -> None:
    state = run_one(Step.lambda_("s", lambda ctx, config: [1, 2]))
    assert state.status is RunStatus.FAILED
    assert state.error_type == "InvalidReturnTypeError"
    assert "returned list ([1, 2])" in state.error


def test_long_return_value_is_shortened_in_the_message() -> None:
    with pytest.raises(InvalidReturnTypeError) as info:
        normalize_result("s", "x" * 500)
    assert "..." in str(info.value) and len(str(info.value)) < 250


def test_unserialisable_output_names_the_path() -> None:
    with pytest.raises(OutputNotSerializableError) as info:
        normalize_result("load", {"rows": [{"id": 1}, {"id": 2, "obj": Opaque()}]})
    message = str(info.value)
    assert "step 'load'" in message
    assert "Opaque at output.rows[1].obj" in message
    assert "artifact store" in message


def test_unserialisable_output_fails_the_run() -> None:
    step = Step.from_function("load", emit, config={"thing": Opaque()})
    state = run_one(step)
    assert state.status is RunStatus.FAILED
    assert state.error_type == "OutputNotSerializableError"
    assert "output.thing" in state.error


def test_datetime_in_output_is_allowed() -> None:
    when = datetime(2024, 1, 2, tzinfo=UTC)
    state = run_one(Step.from_function("s", emit, config={"when": when, "items": (1, 2)}))
    assert state.status is RunStatus.COMPLETED
    assert state.output["when"] == when


# --------------------------------------------------------------------------- raising
def test_raising_handler_keeps_text_type_category_and_traceback() -> None:
    state = run_one(Step.lambda_("s", boom))
    assert state.status is RunStatus.FAILED
    assert state.error == "ValueError: bad input row 7"
    assert state.error_type == "ValueError"
    assert state.error_category == "INTERNAL"
    assert "in boom" in state.traceback and "raise ValueError" in state.traceback


@pytest.mark.parametrize(("exc", "category"), [
    (TimeoutError("slow"), "TIMEOUT"),
    (ConnectionError("refused"), "TRANSIENT"),
    (KeyError("k"), "INTERNAL"),
])
def test_exception_types_map_to_categories(exc: Exception, category: str) -> None:
    def raiser(ctx: Any, config: Any) -> None:
        raise exc

    assert run_one(Step.lambda_("s", raiser)).error_category == category


def test_exception_with_a_category_attribute_uses_it() -> None:
    class QualityError(Exception):
        category = "data_quality"

    def raiser(ctx: Any, config: Any) -> None:
        raise QualityError("nulls in id")

    state = run_one(Step.lambda_("s", raiser))
    assert state.error_category == "DATA_QUALITY"
    assert state.error == "QualityError: nulls in id"
