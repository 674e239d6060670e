"""Breakpoints, the conditions they test, and the reason a ``continue_``/``run_to`` stopped.

A condition is any ``when(ctx)`` callable over a ``ContextView``; ``expression_condition``
builds one from a typed Python expression, so the TUI and the CLI debugger share one
compiler and one set of names (``params``, ``outputs``, ``ctx``).
"""

from __future__ import annotations

import ast
import builtins
import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from types import CodeType
from typing import Any

from .errors import BreakpointError
from .state import ContextView

Condition = Callable[[ContextView], Any]

#: the names a condition expression sees besides Python's builtins
EXPRESSION_NAMES = ("params", "outputs", "ctx")


class ConditionSyntaxError(BreakpointError):
    """A condition expression that does not compile; ``column`` is 1-based (None if unknown)."""

    def __init__(self, message: str, expression: str, column: int | None) -> None:
        super().__init__(message)
        self.expression = expression
        self.column = column


@dataclass(frozen=True, slots=True)
class ExpressionCondition:
    """A condition typed as a Python expression, evaluated against each ``ContextView``.

    The expression sees ``params`` and ``outputs`` (read-only mappings), ``ctx`` (the view,
    with ``get_output``/``get``/``latest``) and the builtins. Because a typed expression is
    easy to get subtly wrong at run time (a missing key, a ``None``), a breakpoint on one
    that raises counts as hit, like pdb's conditions: the run pauses and ``Pause.error``
    says what it raised, rather than the whole continue failing.
    """

    text: str
    code: CodeType = field(repr=False, compare=False)

    def __call__(self, ctx: ContextView) -> Any:
        scope = {"__builtins__": builtins, "params": ctx.params, "outputs": ctx.outputs,
                 "ctx": ctx}  # globals, so comprehensions and lambdas inside see them too
        return eval(self.code, scope)


def expression_condition(text: str) -> ExpressionCondition:
    """Compile ``text`` (e.g. ``outputs["load"]["rows"] > 100``) into a breakpoint condition.

    Raises ``ConditionSyntaxError`` (a ``BreakpointError``) naming the expression and the
    column when it does not parse, is not a single expression, or reads a name other than
    ``params``, ``outputs``, ``ctx``, a builtin or one it binds itself.
    """
    if not isinstance(text, str):
        raise BreakpointError(f"a condition expression must be a string, got "
                              f"{type(text).__name__}")
    source = text.strip()
    if not source:
        raise ConditionSyntaxError(
            "the condition is empty; e.g. outputs[\"load\"][\"rows\"] > 100 or "
            "params[\"region\"] == \"eu\"", source, None)
    try:
        tree = ast.parse(source + "\n", "<condition>", mode="eval")  # "\n": EOF errors get a column
    except SyntaxError as exc:
        column = (min(max(exc.offset or 1, 1), len(source) + 1)
                  if exc.lineno in (None, 1) and "\n" not in source else None)
        where = f" at column {column}" if column else ""
        raise ConditionSyntaxError(
            f"condition {source!r} does not parse: {exc.msg}{where}\n"
            f"  {source}\n  {' ' * ((column or 1) - 1)}^", source, column) from None
    _check_names(tree, source)
    return ExpressionCondition(source, compile(tree, "<condition>", "eval"))


def _check_names(tree: ast.AST, source: str) -> None:
    """Refuse names the expression can never find, so a typo fails now, not at every step."""
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Store)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda):
            args = node.args
            bound.update(a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs))
            bound.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    known = {*EXPRESSION_NAMES, *dir(builtins), *bound}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) \
                and node.id not in known:
            hint = difflib.get_close_matches(node.id, EXPRESSION_NAMES, n=1)
            maybe = f"; did you mean {hint[0]!r}?" if hint else ""
            column = node.col_offset + 1
            raise ConditionSyntaxError(
                f"condition {source!r} reads unknown name {node.id!r} at column {column}"
                f"{maybe} (a condition can use {', '.join(EXPRESSION_NAMES)} and builtins)",
                source, column)


@dataclass(frozen=True, slots=True)
class Breakpoint:
    """Pause before ``step`` runs (only when ``when`` holds, if given); with no ``step``, pause
    as soon as ``when`` holds after any step, like a debugger's watchpoint."""

    id: int
    step: str | None = None
    when: Condition | None = None

    @property
    def expression(self) -> str | None:
        """The condition's text when it was typed as an expression (see ``expression_condition``)."""
        return self.when.text if isinstance(self.when, ExpressionCondition) else None

    @property
    def conditional(self) -> bool:
        return self.when is not None

    def describe(self) -> str:
        cond = self.expression or (getattr(self.when, "__name__", "condition")
                                   if self.when is not None else "")
        if self.step is None:
            return f"when {cond}"
        return f"before {self.step!r}" + (f" if {cond}" if cond else "")


class StopReason(StrEnum):
    """Why a run-until call stopped."""

    BREAKPOINT = "breakpoint"  # a step breakpoint on the next step
    CONDITION = "condition"  # a watch condition became true
    FAILURE = "failure"  # a step failed and break_on_failure is on
    TARGET = "target"  # run_to reached its step
    HALTED = "halted"  # a failed step stops the run
    END = "end"  # every step has run
    INTERRUPTED = "interrupted"  # interrupt() was called


@dataclass(frozen=True, slots=True)
class Pause:
    """Where and why the last ``continue_``/``run_to`` stopped.

    ``step`` is the next step for BREAKPOINT/TARGET/INTERRUPTED, the step just run for
    FAILURE/CONDITION, the failed step for HALTED, and None at the END. ``error`` is set when
    the breakpoint's expression raised instead of answering (``"KeyError: 'rows'"``).
    """

    reason: StopReason
    step: str | None = None
    breakpoint: Breakpoint | None = None
    error: str | None = None
