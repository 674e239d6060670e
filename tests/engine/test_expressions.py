"""``engine.expressions``: the CEL evaluator behind ``skip_if`` (and, next, trigger filters)."""

from __future__ import annotations

import builtins
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from typing import Any

import pytest

from engine import ArtifactRef, RunStatus
from engine.expressions import MAX_COMPREHENSIONS, MAX_LENGTH, Expression, ExpressionError

NAMES = ("params", "outputs")
SCOPE: dict[str, Any] = {
    "params": {"dry_run": True, "n": 3, "env": "dev", "rows": (3, 1, 2), "ratio": 0.5,
               "nested": {"inner": {"leaf": "x"}}},
    "outputs": {"load": {"rows": [10, 20], "count": 2}, "empty": {}},
}


def value(text: str, scope: dict[str, Any] | None = None) -> Any:
    return Expression(text, names=NAMES).evaluate(SCOPE if scope is None else scope)


@pytest.mark.parametrize(("text", "expected"), [
    ("params.dry_run", True),
    ("!params.dry_run", False),
    ("params.n > 2 && params.env in ['dev', 'test']", True),
    ("params.env == 'prod' || params.n == 3", True),
    ("params['env'] + '!'", "dev!"),
    ("params.nested.inner.leaf", "x"),
    ("outputs.load.rows[1]", 20),
    ("size(outputs.load.rows) + outputs.load.count", 4),
    ("params.rows.size() == 3", True),  # a tuple is read as a list
    ("params.ratio * 2.0", 1.0),
    ("params.n / 2", 1),  # integer division, as in CEL
    ("params.n > 2 ? 'big' : 'small'", "big"),
    ("has(params.dry_run) && !has(params.missing)", True),
    ("'dry_run' in params", True),
    ("outputs.load.rows.exists(r, r > 15)", True),
    ("outputs.load.rows.all(r, r > 15)", False),
    ("outputs.load.rows.map(r, r * 2)", [20, 40]),
    ("params.env.startsWith('d') && params.env.matches('^[a-z]+$')", True),
    ("string(params.n) + '/' + params.env", "3/dev"),
    ("{'a': [1, 2]}.a", [1, 2]),
    ("null", None),
])
def test_allowed_constructs_evaluate(text: str, expected: Any) -> None:
    assert value(text) == expected


@pytest.mark.parametrize("text", [
    "params.not_passed",  # a run without the param: None (false), not an error
    "!params.not_passed",  # the whole expression is None, not just the read
    "outputs.skipped_step.rows",
    "outputs.load.rows[5]",
    "params.nested.nope.deeper",
])
def test_a_missing_key_or_index_makes_the_expression_none(text: str) -> None:
    assert value(text) is None


def test_a_missing_key_does_not_hide_a_decided_or() -> None:
    assert value("params.not_passed || params.dry_run") is True


@pytest.mark.parametrize(("text", "message", "column"), [
    ("__import__('os').system('x')", "unknown function '__import__'", 1),
    ("open('/etc/passwd')", "unknown function 'open'", 1),
    ("params.n + open('x')", "unknown function 'open'", 12),
    ("params.env.lowerAscii()", "unknown function 'lowerAscii'", 12),
    ("().__class__", "invalid expression", 2),
    ("params.n +", "invalid expression", 11),
    ("params.n and params.dry_run", "invalid expression", None),  # Python's `and` is not CEL
    ("parms.dry_run", "unknown name 'parms'; the names available are outputs, params", 1),
    ("params.n > 1 && config.x", "unknown name 'config'", 17),
])
def test_refused_expressions_fail_at_construction_with_a_column(
        text: str, message: str, column: int | None) -> None:
    with pytest.raises(ExpressionError) as caught:
        Expression(text, names=NAMES)
    assert message in str(caught.value)
    assert text in str(caught.value)
    if column is not None:
        assert caught.value.column == column


def test_a_parse_error_on_a_later_line_gives_line_and_column() -> None:
    with pytest.raises(ExpressionError) as caught:
        Expression("params.n +\n  (params.rows", names=NAMES)
    assert (caught.value.line, caught.value.column) == (2, 15)
    assert "line 2, column 15" in str(caught.value)


def test_sandbox_escapes_never_run_python(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the evaluator must not run Python code")

    for name in ("eval", "exec", "open", "__import__"):
        monkeypatch.setattr(builtins, name, forbidden)
    for text in ("__import__('os').system('echo pwned')", "open('/etc/passwd')",
                 "params.__class__", "params.__class__.__bases__", "dyn(params).__dict__"):
        try:
            result = Expression(text, names=NAMES).evaluate(SCOPE)
        except ExpressionError:
            continue
        assert result is None  # a dunder is only ever a (missing) map key


@pytest.mark.parametrize(("text", "message"), [
    ("1 / 0", "division by zero"),
    ("params.n + 'a'", "No such overload"),  # CEL never mixes types
    ("params.n + 1.5", "No such overload"),
    ("9223372036854775807 + 1", "overflow"),
    ("int('x')", "int"),
])
def test_evaluation_failures_are_expression_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        value(text)


def test_huge_inputs_are_refused_before_compiling() -> None:
    started = time.perf_counter()
    with pytest.raises(ExpressionError, match=f"at most {MAX_LENGTH} are allowed"):
        Expression("1 + " * MAX_LENGTH + "1")
    with pytest.raises(ExpressionError, match="invalid expression"):
        Expression("(" * 900 + "1" + ")" * 900)  # too deep for CEL's parser: an error, no crash
    nested = "[1, 2].map(a, " * (MAX_COMPREHENSIONS + 1) + "1" + ")" * (MAX_COMPREHENSIONS + 1)
    with pytest.raises(ExpressionError, match=f"at most {MAX_COMPREHENSIONS} are allowed"):
        Expression(nested)
    assert time.perf_counter() - started < 1.0


def test_values_passed_in_are_read_as_plain_data() -> None:
    class Opaque:
        """An object CEL cannot read as plain data."""

    assert value("params.s.size()", {"params": {"s": frozenset({1, 2})}, "outputs": {}}) == 2
    with pytest.raises(ExpressionError, match="Conversion Error"):
        value("params.x == 1", {"params": {"x": Opaque()}, "outputs": {}})


def test_names_are_checked_at_construction_or_when_evaluated() -> None:
    expr = Expression("event.kind == 'push'")  # no names given: any name, bound later
    assert expr.reads == {"event"}
    assert expr.evaluate({"event": {"kind": "push"}}) is True
    with pytest.raises(ExpressionError, match="unknown name 'event'; the names available are x"):
        expr.evaluate({"x": 1})
    assert Expression("outputs.load.rows.exists(r, r > 1)", names=NAMES).reads == {"outputs"}


def test_expressions_compare_by_text_and_are_not_strings() -> None:
    assert Expression("params.n > 1") == Expression("params.n > 1")
    assert hash(Expression("params.n > 1")) == hash(Expression("params.n > 1"))
    assert Expression("params.n > 1") != Expression("params.n > 2")
    assert str(Expression("params.n")) == "params.n"
    with pytest.raises(TypeError, match="must be a string"):
        Expression(42)  # type: ignore[arg-type]
    with pytest.raises(ExpressionError, match="empty"):
        Expression("   ")


def test_an_expression_error_is_a_value_error_with_its_parts() -> None:
    with pytest.raises(ValueError) as caught:
        Expression("params.n + open('f')", names=NAMES)
    error = caught.value
    assert isinstance(error, ExpressionError)
    assert error.text == "params.n + open('f')" and error.column == 12
    assert error.reason.startswith("unknown function 'open'")


def test_the_cel_evaluator_loads_without_its_command_line_ui() -> None:
    code = ("import sys; from engine.expressions import Expression; "
            "assert Expression('1 + 1').evaluate({}) == 2; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'typer', 'cel'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "['cel']"


def test_output_types_are_read_as_their_json_form() -> None:
    """An earlier step's output may hold an ArtifactRef, a date or an enum: CEL reads the form
    the store keeps (a ``skip_if`` after a data step used to fail on the ref)."""
    ref = ArtifactRef(store="local", key="runs/r1/rows.parquet", size_bytes=42,
                      content_type="application/parquet",
                      created_at=datetime(2026, 1, 2, tzinfo=UTC), checksum="ab" * 32)
    outputs = {"load": {"table": ref, "as_of": date(2026, 1, 2), "status": RunStatus.COMPLETED}}
    assert Expression("outputs.load.table.size_bytes > 40").evaluate({"outputs": outputs})
    assert Expression("outputs.load.as_of == '2026-01-02'").evaluate({"outputs": outputs})
    assert Expression("outputs.load.status == 'completed'").evaluate({"outputs": outputs})
