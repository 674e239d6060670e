"""``engine.expressions``: the safe evaluator behind ``skip_if`` (and, later, trigger filters)."""

from __future__ import annotations

import ast
import builtins
import time
from typing import Any

import pytest

from engine.expressions import MAX_LENGTH, MAX_NODES, Expression, ExpressionError

NAMES = ("params", "outputs")
SCOPE: dict[str, Any] = {
    "params": {"dry_run": True, "n": 3, "env": "dev", "rows": [3, 1, 2], "ratio": 0.5,
               "nested": {"inner": {"leaf": "x"}}},
    "outputs": {"load": {"rows": [10, 20], "count": 2}, "empty": {}},
}


def value(text: str, scope: dict[str, Any] | None = None) -> Any:
    return Expression(text, names=NAMES).evaluate(SCOPE if scope is None else scope)


@pytest.mark.parametrize(("text", "expected"), [
    ("params.dry_run", True),
    ("not params.dry_run", False),
    ("params.n > 2 and params.env in ['dev', 'test']", True),
    ("params.env == 'prod' or params.n", 3),  # `or` returns the deciding operand, as in Python
    ("1 < params.n <= 3", True),
    ("params['env']", "dev"),
    ("params.nested.inner.leaf", "x"),
    ("outputs.load.rows[1]", 20),
    ("outputs.load.rows[-1]", 20),
    ("params.rows[1:]", [1, 2]),
    ("len(outputs.load.rows) + outputs.load.count", 4),
    ("sorted(params.rows, reverse=True)", [3, 2, 1]),
    ("min(params.rows) + max(params.rows) + sum(params.rows) + abs(-2)", 12),
    ("round(params.ratio * 7, 1)", 3.5),
    ("int('42') + float('0.5')", 42.5),
    ("str(params.n) + '!'", "3!"),
    ("any([False, params.dry_run]) and all([1, 'a'])", True),
    ("'big' if params.n > 2 else 'small'", "big"),
    ("params.n ** 2 - 10 // 3 + 7 % 4 - 1 / 2", 8.5),
    ("-params.n", -3),
    ("{'a': 1, 'b': [1, 2]}['b']", [1, 2]),
    ("(1, 2) + (3,)", (1, 2, 3)),
    ("2 in {1, 2}", True),
    ("params.missing is None and 'dry_run' in params", True),
    ("[0] * 3", [0, 0, 0]),
    ("2 ** 100", 2 ** 100),
])
def test_allowed_constructs_evaluate_as_python_would(text: str, expected: Any) -> None:
    assert value(text) == expected


@pytest.mark.parametrize("text", [
    "params.not_passed",  # a run without the param: false, not an error
    "outputs.skipped_step.rows",  # reading from None gives None
    "outputs.empty.count",
    "outputs.load.rows[5]",
    "params['nope']['deeper']",
])
def test_a_missing_key_or_index_reads_as_none(text: str) -> None:
    assert value(text) is None


@pytest.mark.parametrize(("text", "message", "column"), [
    ("__import__('os').system('x')", "calling the method 'system' is not allowed", 1),
    ("__import__('os')", "calling '__import__' is not allowed", 1),
    ("().__class__.__bases__", "'__bases__' is not allowed", 1),
    ("params.__class__", "'__class__' is not allowed", 1),
    ("params.n and __builtins__", "the name '__builtins__' is not allowed", 14),
    ("lambda: 1", "lambda is not allowed", 1),
    ("params.n + (lambda x: x)(1)", "calling the result of an expression is not allowed", 12),
    ("[x for x in params.rows]", "a list comprehension is not allowed", 1),
    ("any(x.__class__ for x in params.rows)", "a generator expression is not allowed", 4),
    ("{k: 1 for k in 'ab'}", "a dict comprehension is not allowed", 1),
    ("f'{params}'", "an f-string is not allowed", 1),
    ("(x := 1)", "':=' (assignment) is not allowed", 2),
    ("open('/etc/passwd')", "calling 'open' is not allowed", 1),
    ("eval('1')", "calling 'eval' is not allowed", 1),
    ("params.rows.pop()", "calling the method 'pop' is not allowed", 1),
    ("len", "'len' can only be called", 1),
    ("sorted(params.rows, key=len)", "sorted() takes only reverse here, not 'key'", 1),
    ("max(*params.rows)", "'*' unpacking is not allowed", 5),
    ("{**params}", "'**' unpacking is not allowed", 1),
    ("1 << 8", "the operator '<<' is not allowed", 1),
    ("~params.n", "the operator '~' is not allowed", 1),
    ("b'bytes'", "a bytes literal is not allowed", 1),
    ("parms.dry_run", "unknown name 'parms'; the names available are outputs, params", 1),
    ("params.n +", "invalid expression", 11),
    ("  params.n ===", "invalid expression", None),
])
def test_refused_constructs_name_the_construct_and_its_column(
        text: str, message: str, column: int | None) -> None:
    with pytest.raises(ExpressionError) as caught:
        Expression(text, names=NAMES)
    assert message in str(caught.value)
    assert text in str(caught.value)
    if column is not None:
        assert caught.value.column == column


def test_columns_count_characters_and_leading_whitespace() -> None:
    with pytest.raises(ExpressionError) as caught:
        Expression("  'é' + open('x')", names=NAMES)
    assert caught.value.column == 9
    with pytest.raises(ExpressionError) as multi:
        Expression("(params.n\n  + open('x'))", names=NAMES)
    assert (multi.value.line, multi.value.column) == (2, 5)
    assert "line 2, column 5" in str(multi.value)


def test_python_eval_exec_and_code_compilation_are_never_reached(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real_compile = builtins.compile

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the evaluator must not run Python code")

    def parse_only(source: Any, filename: Any, mode: str, flags: int = 0,
                   *args: Any, **kwargs: Any) -> Any:
        if not flags & ast.PyCF_ONLY_AST:  # ast.parse compiles to a tree only, never to code
            forbidden()
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", parse_only)
    expr = Expression("len(params.rows) * 2 if params.dry_run else 0", names=NAMES)
    assert expr.evaluate(SCOPE) == 6
    with pytest.raises(ExpressionError):
        value("__import__('os').system('echo pwned')")


@pytest.mark.parametrize(("text", "message"), [
    ("9 ** 9 ** 9", "is too large"),
    ("2 ** 10 ** 6", "is too large"),
    ("(10 ** 300) ** 300", "is too large"),
    ("'a' * 10 ** 9", "too large"),
    ("[1] * 10 ** 8", "too large"),
    ("[[1] * 1000] * 1000", "only a list of strings, numbers, booleans and None can be repeated"),
    ("str([1] * 1000)", "str() takes a string, number, boolean or None"),
    ("sum([[1], [2]])", "sum() adds numbers"),
    ("round(10 ** 100, -10 ** 9)", "ndigits must be between"),
    ("'%0999999999d' % 1", "'%' string formatting is not supported"),
    ("1 / 0", "ZeroDivisionError"),
    ("2.0 ** 10 ** 6", "OverflowError"),
])
def test_expensive_or_failing_work_is_refused_quickly(text: str, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ExpressionError) as caught:
        value(text)
    assert message in str(caught.value)
    assert time.perf_counter() - started < 2.0  # refused before the work, not after it


def test_size_limits_are_checked_when_the_text_is_read() -> None:
    with pytest.raises(ExpressionError, match=f"at most {MAX_LENGTH} are allowed"):
        Expression("1 + " * MAX_LENGTH + "1")
    with pytest.raises(ExpressionError, match=f"at most {MAX_NODES} are allowed"):
        Expression("1+" * 200 + "1")
    with pytest.raises(ExpressionError, match="nested more than"):
        Expression("-" * 60 + "1")


@pytest.mark.parametrize(("text", "message"), [
    ("params.rows.first", "cannot read .first of a list: only a mapping can be read"),
    ("params.env[0]", "cannot read [0] of a str"),
    ("params.rows['a']", "a list index must be an integer, got str"),
    ("params.n[1:2]", "cannot slice an int"),
    ("sorted([1, 'a'])", "TypeError"),
    ("max([])", "ValueError"),
])
def test_evaluation_errors_are_expression_errors_with_a_column(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        value(text)
    assert message in str(caught.value)
    assert caught.value.column is not None


def test_names_are_checked_at_construction_or_when_evaluated() -> None:
    expr = Expression("event.kind == 'push'")  # no names given: any name, bound later
    assert expr.reads == {"event"}
    assert expr.evaluate({"event": {"kind": "push"}}) is True
    with pytest.raises(ExpressionError, match="unknown name 'event'; the names available are x"):
        expr.evaluate({"x": 1})
    assert Expression("len(params.rows)", names=NAMES).reads == {"params"}


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
    assert error.reason.startswith("calling 'open' is not allowed")
