"""``Expression``: a small, safe expression over plain data, for text that may come from a YAML
file or an HTTP request (``skip_if: "params.dry_run"``, and next the trigger filters, which use
this same evaluator).

The language is Google's CEL (Common Expression Language, https://cel.dev), run by the
``common-expression-language`` package: ``params.dry_run``, ``params.env == "prod" &&
size(outputs.load.rows) > 2``, ``!has(params.limit) || params.limit < 10``,
``outputs.load.rows.exists(r, r > 100)``, ``params.n > 2 ? "big" : "small"``. Why CEL rather
than our own evaluator: it is specified and maintained by Google; it is not Turing-complete (no
loops, recursion or assignment); it reads only the plain values it is given (no attribute
access on Python objects, no way to reach a Python function); and evaluation is linear in the
size of the expression and its data, except for nested comprehension macros (``.all``,
``.exists``, ``.exists_one``, ``.map``, ``.filter``), of which at most ``MAX_COMPREHENSIONS``
are allowed.

Decisions: the text (at most ``MAX_LENGTH`` characters) is compiled once, at construction, so a
bad expression, a name that is not one of ``names`` or a call of a function outside
``FUNCTIONS`` fails when the workflow loads, with its column. An expression that reads a key
missing from a map, or an index past the end of a list, evaluates to ``None`` as a whole (CEL
itself raises), so ``skip_if: params.dry_run`` is simply false in a run without that param and
the step runs; ``!params.dry_run`` is then ``None`` too, so test for a key with
``has(params.dry_run)`` or ``"dry_run" in params``. Any other failure while evaluating
(``1 / 0``; ``1 + "a"`` or ``1 + 1.5``, since CEL never mixes types) is an ``ExpressionError``.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any

from .serialization import to_jsonable

__all__ = ["FUNCTIONS", "Expression", "ExpressionError"]

MAX_LENGTH = 2000
MAX_COMPREHENSIONS = 2
#: the named functions an expression may call: CEL's standard ones (operators are always allowed)
FUNCTIONS = frozenset({
    "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double", "string",
    "bytes", "dyn", "type", "timestamp", "duration", "getFullYear", "getMonth", "getDayOfYear",
    "getDayOfMonth", "getDate", "getDayOfWeek", "getHours", "getMinutes", "getSeconds",
    "getMilliseconds"})
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_COMPREHENSION = re.compile(r"\.\s*(?:all|exists_one|exists|map|filter)\s*\(\s*([A-Za-z_]\w*)?")
_POSITION = re.compile(r"<input>:(\d+):(\d+): (?:Syntax error: )?([^\n]*)")
_cel_lock = threading.Lock()


def _cel() -> ModuleType:
    """CEL's compiled extension module ``cel.cel``, loaded without the package's ``__init__``,
    which also imports its command line (typer, rich, prompt_toolkit: ~140 ms, and rich is UI,
    which ``engine`` never imports). Loaded on first use, so ``import engine`` stays fast."""
    with _cel_lock:
        module = sys.modules.get("cel.cel")
        if module is None:
            package = importlib.util.find_spec("cel")
            spec = importlib.machinery.PathFinder.find_spec(
                "cel.cel", package.submodule_search_locations if package else None)
            if spec is None or spec.loader is None:
                raise ImportError("the CEL evaluator is missing: pip install "
                                  "common-expression-language")
            module = importlib.util.module_from_spec(spec)
            sys.modules["cel.cel"] = module  # a later `import cel` reuses it
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules["cel.cel"]
                raise
        return module


class ExpressionError(ValueError):
    """An expression that does not compile or reads an unknown name (raised by
    ``Expression(...)``), or one that failed while evaluating; ``column`` (1-based) points at
    the problem, if known."""

    def __init__(self, message: str, text: str, column: int | None = None,
                 line: int | None = None) -> None:
        self.reason = message
        self.text = text
        self.column = column
        self.line = line
        where = ""
        if column is not None:
            where = f"line {line}, column {column}" if line and line > 1 else f"column {column}"
            where = f"{where} of "
        shown = text if len(text) <= 80 else text[:77] + "..."
        super().__init__(f"{message} ({where}{shown!r})")


class Expression:
    """A compiled CEL expression: ``Expression("params.rows > 100").evaluate({"params": ...})``.

    ``names`` lists the names the expression may read (None: any, looked up when evaluated);
    reading another name is an ``ExpressionError`` here, at construction.
    """

    __slots__ = ("text", "reads", "_program")

    def __init__(self, text: str, names: Iterable[str] | None = None) -> None:
        if not isinstance(text, str):
            raise TypeError(f"an expression must be a string, got {type(text).__name__}")
        self.text = text
        if not text.strip():
            raise ExpressionError("the expression is empty", text)
        if len(text) > MAX_LENGTH:
            raise ExpressionError(f"the expression is {len(text)} characters long; at most "
                                  f"{MAX_LENGTH} are allowed", text)
        macros = _COMPREHENSION.findall(text)
        if len(macros) > MAX_COMPREHENSIONS:
            raise ExpressionError(f"the expression has {len(macros)} comprehensions (.all, "
                                  f".exists, .map, ...); at most {MAX_COMPREHENSIONS} are "
                                  "allowed", text)
        try:
            self._program = _cel().compile(text)
        except ValueError as exc:
            found = _POSITION.search(str(exc))
            if found is None:
                raise ExpressionError(f"invalid expression: {exc}", text) from None
            line, column, problem = found.groups()
            raise ExpressionError(f"invalid expression: {problem}", text, int(column),
                                  int(line)) from None
        calls = [f for f in self._program.functions() if _IDENTIFIER.fullmatch(f)]
        refused = sorted((f for f in calls if f not in FUNCTIONS),
                         key=lambda f: _find(text, f, call=True))
        if refused:
            line, column = _line_column(text, _find(text, refused[0], call=True))
            raise ExpressionError(f"unknown function {refused[0]!r}; the functions available "
                                  f"are CEL's standard ones: {', '.join(sorted(FUNCTIONS))}",
                                  text, column, line)
        #: the names the expression reads (comprehension variables such as ``r`` excluded)
        self.reads = frozenset(self._program.variables()) - set(macros)
        if names is not None:
            allowed = frozenset(names)
            unknown = sorted(self.reads - allowed, key=lambda name: _find(text, name))
            if unknown:
                known = ", ".join(sorted(allowed)) or "none"
                line, column = _line_column(text, _find(text, unknown[0]))
                raise ExpressionError(f"unknown name {unknown[0]!r}; the names available are "
                                      f"{known}", text, column, line)

    def __reduce__(self) -> tuple[type[Expression], tuple[str]]:
        """Pickle as the text, compiled again where it is loaded (the compiled CEL program
        does not pickle): a calculation step carrying rules can travel to a worker."""
        return Expression, (self.text,)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.text == self.text

    def __hash__(self) -> int:
        return hash((Expression, self.text))

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __str__(self) -> str:
        return self.text

    def evaluate(self, names: Mapping[str, Any]) -> Any:
        """The expression's value with ``names`` bound: ``None`` if it reads a missing key or
        index (see the module docstring); any other failure raises ``ExpressionError``."""
        missing = sorted(self.reads - names.keys(), key=lambda name: _find(self.text, name))
        if missing:
            known = ", ".join(sorted(names)) or "none"
            raise ExpressionError(f"unknown name {missing[0]!r}; the names available are "
                                  f"{known}", self.text)
        context = {name: _plain(value) for name, value in names.items()}
        try:
            return self._program.execute(context)
        except (KeyError, IndexError):
            return None
        except (ValueError, TypeError, ArithmeticError, RuntimeError) as exc:
            raise ExpressionError(str(exc).split("\n")[0], self.text) from None


_CEL_SCALARS = (str, int, float, bool, bytes, type(None))


def _plain(value: Any) -> Any:
    """``value`` as the JSON-like data CEL reads: mappings as dicts, sequences as lists, and
    other output types (an ``ArtifactRef``, a date, an enum) as their JSON form, as stored."""
    if isinstance(value, _CEL_SCALARS):
        return value
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    try:
        return to_jsonable(value)
    except TypeError:  # not an output type: CEL says what it cannot read
        return value


def _find(text: str, name: str, *, call: bool = False) -> int:
    """Offset of the first use of the name (or call of the function) in ``text`` (0 if none)."""
    pattern = rf"\b{re.escape(name)}\s*\(" if call else rf"(?<![\w.]){re.escape(name)}\b"
    found = re.search(pattern, text)
    return found.start() if found else 0


def _line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
