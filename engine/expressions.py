"""``Expression``: small, safe expressions over plain data, for text that may come from a YAML
file or an HTTP request (``skip_if: "params.dry_run"``, and later trigger filters).

The text is parsed once with ``ast`` and checked against an allow-list at construction, so a
bad expression fails when the workflow loads (``ExpressionError`` names the construct and its
column), never in the middle of a run. Evaluation walks that checked tree itself: Python's
``eval``/``compile`` are never reached, nothing is looked up with ``getattr``, and the only
callables are the pure builtins in ``FUNCTIONS``.

What an expression may use: literals (strings, numbers, booleans, ``None``, lists, tuples,
sets, dicts), the names it is given, ``a.key`` and ``a["key"]`` / ``a[0]`` / ``a[1:3]`` on
mappings, lists and tuples, comparisons (also ``in``, ``not in``, ``is``), ``and``/``or``/
``not``, ``+ - * / // % **``, ``x if cond else y`` and calls of ``FUNCTIONS``. Not allowed:
lambdas, comprehensions, f-strings, ``:=``, ``*`` unpacking, bit operators, methods, and any
name or key starting with ``__``.

Decisions: a key missing from a mapping, an index past the end of a list, and anything read
from ``None`` give ``None`` rather than an error (as GitHub Actions expressions do), so
``params.dry_run`` is simply false in a run without that param; a name that is not one of
the expression's names is an error at construction. Work is bounded: at most ``MAX_LENGTH``
characters and ``MAX_NODES`` syntax nodes, nested at most ``MAX_DEPTH`` deep; integer results
of at most ``MAX_INT_BITS`` bits (``9**9**9`` is refused before it is computed), strings and
lists built by ``+``/``*`` of at most ``MAX_SIZE`` items, and no ``%`` string formatting.

Why not a library: ``simpleeval`` (the best-known one) is a deny-list design: it reads
attributes of any object with ``getattr`` (minus blocked names), lets expressions call
methods of any value, checks while evaluating rather than when the text is loaded, and
allows ``2 ** 4_000_000``; ``asteval`` evaluates whole statements; ``evalidate`` checks the
tree and then hands it to ``eval``. An allow-list evaluator over plain data is short enough
to own, and its errors can point at the column of the offending construct.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["FUNCTIONS", "Expression", "ExpressionError"]

MAX_LENGTH = 2000
MAX_NODES = 256
MAX_DEPTH = 48
MAX_INT_BITS = 8192
MAX_SIZE = 100_000
_CONSTANTS = (str, int, float, bool, type(None))
_SEQUENCES = (list, tuple)


def _str(value: Any) -> str:
    """``str`` of a scalar only: the text of a container could be far larger than the data."""
    if not isinstance(value, _CONSTANTS):
        raise TypeError(f"str() takes a string, number, boolean or None here, not a "
                        f"{type(value).__name__}")
    return str(value)


def _sum(values: Iterable[Any]) -> Any:
    """``sum`` of numbers only (no start value: adding lists could build huge ones)."""
    items = list(values)
    for item in items:
        if not isinstance(item, int | float):
            raise TypeError(f"sum() adds numbers, not a {type(item).__name__}")
    return sum(items)


def _round(number: Any, ndigits: int | None = None) -> Any:
    """``round`` with ``ndigits`` bounded (a huge negative one makes a huge power of ten)."""
    if ndigits is not None and isinstance(ndigits, int) and abs(ndigits) > 1000:
        raise ValueError(f"round() ndigits must be between -1000 and 1000, got {ndigits}")
    return round(number, ndigits)


#: the only callables an expression can reach, with the keyword arguments each accepts
FUNCTIONS: dict[str, tuple[Callable[..., Any], frozenset[str]]] = {
    "abs": (abs, frozenset()), "all": (all, frozenset()), "any": (any, frozenset()),
    "bool": (bool, frozenset()), "float": (float, frozenset()), "int": (int, frozenset()),
    "len": (len, frozenset()), "max": (max, frozenset({"default"})),
    "min": (min, frozenset({"default"})), "round": (_round, frozenset({"ndigits"})),
    "sorted": (sorted, frozenset({"reverse"})), "str": (_str, frozenset()),
    "sum": (_sum, frozenset()),
}

_BINARY: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add), ast.Sub: ("-", operator.sub), ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv), ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod), ast.Pow: ("**", operator.pow)}
_REFUSED_OPERATORS = {ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&",
                      ast.BitXor: "^", ast.MatMult: "@"}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b, ast.Is: operator.is_, ast.IsNot: operator.is_not}
_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda", ast.ListComp: "a list comprehension",
    ast.SetComp: "a set comprehension", ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression", ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string", ast.NamedExpr: "':=' (assignment)",
    ast.Starred: "'*' unpacking", ast.Await: "await", ast.Yield: "yield",
    ast.YieldFrom: "yield"}


class ExpressionError(ValueError):
    """An expression that is not allowed or does not parse (raised by ``Expression(...)``), or
    one that failed while evaluating; ``column`` (1-based) points at the construct, if known."""

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
    """A checked expression: ``Expression("params.rows > 100").evaluate({"params": ...})``.

    ``names`` lists the names the expression may read (None: any, looked up when evaluated);
    reading another name is an ``ExpressionError`` here, at construction.
    """

    __slots__ = ("text", "reads", "_tree", "_lines")

    def __init__(self, text: str, names: Iterable[str] | None = None) -> None:
        if not isinstance(text, str):
            raise TypeError(f"an expression must be a string, got {type(text).__name__}")
        self.text = text
        #: the names the expression reads
        self.reads: frozenset[str] = frozenset()
        source = text.strip()
        if not source:
            raise ExpressionError("the expression is empty", text)
        if len(source) > MAX_LENGTH:
            raise ExpressionError(f"the expression is {len(source)} characters long; at most "
                                  f"{MAX_LENGTH} are allowed", text)
        self._lines = text.split("\n")
        tree = _parse(text, source)
        self._tree = tree.body
        count = sum(1 for _ in ast.walk(tree))
        if count > MAX_NODES:
            raise ExpressionError(f"the expression has {count} parts; at most {MAX_NODES} are "
                                  "allowed", text)
        used: list[ast.Name] = []
        self._check(self._tree, 0, used)
        if names is not None:
            allowed = frozenset(names)
            unknown = sorted((n for n in used if n.id not in allowed),
                             key=lambda n: (n.lineno, n.col_offset))
            if unknown:
                known = ", ".join(sorted(allowed)) or "none"
                raise self._error(f"unknown name {unknown[0].id!r}; the names available are "
                                  f"{known}", unknown[0])
        self.reads = frozenset(n.id for n in used)

    # ------------------------------------------------------------------ value semantics
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.text == self.text

    def __hash__(self) -> int:
        return hash((Expression, self.text))

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __str__(self) -> str:
        return self.text

    # ------------------------------------------------------------------ evaluating
    def evaluate(self, names: Mapping[str, Any]) -> Any:
        """The expression's value with ``names`` bound (raises ``ExpressionError``)."""
        return self._eval(self._tree, names)

    def _eval(self, node: ast.expr, scope: Mapping[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in scope:
                known = ", ".join(sorted(scope)) or "none"
                raise self._error(f"unknown name {node.id!r}; the names available are {known}",
                                  node)
            return scope[node.id]
        if isinstance(node, ast.Attribute):
            return self._read(self._eval(node.value, scope), node.attr, node, attribute=True)
        if isinstance(node, ast.Subscript):
            value = self._eval(node.value, scope)
            if isinstance(node.slice, ast.Slice):
                return self._slice(value, node.slice, scope, node)
            return self._read(value, self._eval(node.slice, scope), node, attribute=False)
        if isinstance(node, ast.BoolOp):
            is_and = isinstance(node.op, ast.And)
            result: Any = None
            for part in node.values:
                result = self._eval(part, scope)
                if bool(result) is not is_and:
                    return result
            return result
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(node.operand, scope)
            if isinstance(node.op, ast.Not):
                return not operand
            return self._apply(node, operator.neg if isinstance(node.op, ast.USub)
                               else operator.pos, operand)
        if isinstance(node, ast.BinOp):
            left, right = self._eval(node.left, scope), self._eval(node.right, scope)
            symbol, fn = _BINARY[type(node.op)]
            self._bound(node, symbol, left, right)
            return self._apply(node, fn, left, right)
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, scope)
            for op, comparator in zip(node.ops, node.comparators, strict=True):
                right = self._eval(comparator, scope)
                if not self._apply(node, _COMPARE[type(op)], left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            branch = node.body if self._eval(node.test, scope) else node.orelse
            return self._eval(branch, scope)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            fn = FUNCTIONS[node.func.id][0]
            args = [self._eval(a, scope) for a in node.args]
            kwargs = {k.arg: self._eval(k.value, scope) for k in node.keywords if k.arg}
            result = self._apply(node, fn, *args, **kwargs)
            return self._checked_size(node, result)
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            items = [self._eval(e, scope) for e in node.elts]
            if isinstance(node, ast.Set):
                return self._apply(node, set, items)
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.Dict):
            keys = [self._eval(k, scope) for k in node.keys if k is not None]
            values = [self._eval(v, scope) for v in node.values]
            return self._apply(node, lambda: dict(zip(keys, values, strict=True)))
        raise self._error(f"{type(node).__name__} is not allowed in an expression", node)

    def _read(self, value: Any, key: Any, node: ast.expr, *, attribute: bool) -> Any:
        """``value.key`` / ``value[key]``: keys of mappings, items of lists and tuples."""
        if value is None:
            return None
        if isinstance(key, str) and key.startswith("__"):
            raise self._error(f"{key!r} cannot be read: names starting with '__' are never "
                              "read", node)
        if isinstance(value, Mapping):
            try:
                return value.get(key)
            except TypeError:  # an unhashable key
                raise self._error(f"{_a(key)} cannot be a key", node) from None
        if isinstance(value, _SEQUENCES) and not attribute:
            if not isinstance(key, int):
                raise self._error(f"a {type(value).__name__} index must be an integer, got "
                                  f"{type(key).__name__}", node)
            return value[key] if -len(value) <= key < len(value) else None
        what = f".{key}" if attribute else f"[{key!r}]"
        kinds = "a mapping" if attribute else "a mapping, list or tuple"
        raise self._error(f"cannot read {what} of {_a(value)}: only {kinds} can be read "
                          "that way", node)

    def _slice(self, value: Any, part: ast.Slice, scope: Mapping[str, Any],
               node: ast.expr) -> Any:
        if value is None:
            return None
        if not isinstance(value, _SEQUENCES):
            raise self._error(f"cannot slice {_a(value)}: only lists and tuples can be sliced",
                              node)
        bounds = [None if p is None else self._eval(p, scope)
                  for p in (part.lower, part.upper, part.step)]
        if any(b is not None and not isinstance(b, int) for b in bounds):
            raise self._error("slice bounds must be integers", node)
        if bounds[2] == 0:
            raise self._error("a slice step cannot be zero", node)
        return value[bounds[0]:bounds[1]:bounds[2]]

    def _bound(self, node: ast.BinOp, symbol: str, left: Any, right: Any) -> None:
        """Refuse, before computing it, a result too large to build quickly."""
        ints = isinstance(left, int) and isinstance(right, int)
        if symbol == "**" and ints and right > 0 and abs(left) > 1 \
                and (abs(left).bit_length() - 1) * right > MAX_INT_BITS:
            raise self._error(f"{left} ** {right} is too large (results are limited to "
                              f"{MAX_INT_BITS} bits)", node)
        if symbol == "*" and ints and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise self._error(f"the product is too large (results are limited to "
                              f"{MAX_INT_BITS} bits)", node)
        if symbol == "*" and not ints:
            for seq, times in ((left, right), (right, left)):
                if not (isinstance(seq, str | list | tuple) and isinstance(times, int)):
                    continue
                if len(seq) * times > MAX_SIZE:
                    raise self._error(f"repeating a {type(seq).__name__} {times} times is too "
                                      f"large (at most {MAX_SIZE} items)", node)
                if not isinstance(seq, str) and times > 1 \
                        and not all(isinstance(item, _CONSTANTS) for item in seq):
                    raise self._error(f"only a {type(seq).__name__} of strings, numbers, "
                                      "booleans and None can be repeated", node)
        if symbol == "+" and isinstance(left, str | list | tuple) \
                and isinstance(right, str | list | tuple) and len(left) + len(right) > MAX_SIZE:
            raise self._error(f"the result is too large (at most {MAX_SIZE} items)", node)
        if symbol == "%" and isinstance(left, str):
            raise self._error("'%' string formatting is not supported", node)

    def _apply(self, node: ast.expr, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
        except (TypeError, ValueError, ArithmeticError, IndexError, KeyError) as exc:
            raise self._error(f"{type(exc).__name__}: {exc}", node) from None
        if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
            raise self._error(f"the result is too large (limited to {MAX_INT_BITS} bits)", node)
        return result

    def _checked_size(self, node: ast.expr, result: Any) -> Any:
        if isinstance(result, str | list | tuple) and len(result) > MAX_SIZE:
            raise self._error(f"the result is too large (at most {MAX_SIZE} items)", node)
        return result

    # ------------------------------------------------------------------ checking
    def _check(self, node: ast.AST, depth: int, used: list[ast.Name]) -> None:
        """Refuse anything outside the allow-list, naming it and its column."""
        if depth > MAX_DEPTH:
            raise self._error(f"the expression is nested more than {MAX_DEPTH} levels deep",
                              node)
        refused = _REFUSED_NODES.get(type(node))
        if refused is not None:
            raise self._error(f"{refused} is not allowed in an expression", node)
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, _CONSTANTS):
                raise self._error(f"a {type(node.value).__name__} literal is not allowed in an "
                                  "expression", node)
        elif isinstance(node, ast.Name):
            if node.id.startswith("__"):
                raise self._error(f"the name {node.id!r} is not allowed: names starting with "
                                  "'__' are never read", node)
            if node.id in FUNCTIONS:
                raise self._error(f"{node.id!r} can only be called, as in {node.id}(...)", node)
            used.append(node)
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("__"):
                raise self._error(f"{node.attr!r} is not allowed: names starting with '__' are "
                                  "never read", node)
        elif isinstance(node, ast.BinOp | ast.UnaryOp):
            symbol = _REFUSED_OPERATORS.get(type(node.op))  # type: ignore[arg-type]
            if symbol is None and isinstance(node.op, ast.Invert):
                symbol = "~"
            if symbol is not None:
                raise self._error(f"the operator {symbol!r} is not allowed in an expression",
                                  node)
        elif isinstance(node, ast.Call):
            self._check_call(node)
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                self._check(arg, depth + 1, used)
            return
        elif isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                raise self._error("'**' unpacking is not allowed in an expression", node)
        elif not isinstance(node, _ALLOWED):
            raise self._error(f"{_describe(node)} is not allowed in an expression", node)
        for child in ast.iter_child_nodes(node):
            self._check(child, depth + 1, used)

    def _check_call(self, node: ast.Call) -> None:
        allowed = ", ".join(sorted(FUNCTIONS))
        if not isinstance(node.func, ast.Name):
            what = f"the method {node.func.attr!r}" if isinstance(node.func, ast.Attribute) \
                else "the result of an expression"
            raise self._error(f"calling {what} is not allowed; only these functions can be "
                              f"called: {allowed}", node)
        name = node.func.id
        if name not in FUNCTIONS:
            raise self._error(f"calling {name!r} is not allowed; only these functions can be "
                              f"called: {allowed}", node)
        keywords = FUNCTIONS[name][1]
        for keyword in node.keywords:
            if keyword.arg is None:
                raise self._error("'**' unpacking is not allowed in an expression", node)
            if keyword.arg not in keywords:
                takes = f"takes only {', '.join(sorted(keywords))}" if keywords \
                    else "takes no keyword arguments"
                raise self._error(f"{name}() {takes} here, not {keyword.arg!r}", node)

    def _error(self, message: str, node: ast.AST) -> ExpressionError:
        line = getattr(node, "lineno", None)
        offset = getattr(node, "col_offset", None)
        column = None
        if line is not None and offset is not None and 0 < line <= len(self._lines):
            encoded = self._lines[line - 1].encode("utf-8")
            column = len(encoded[:offset].decode("utf-8", errors="ignore")) + 1
        return ExpressionError(message, self.text, column, line)


_ALLOWED = (ast.Expression, ast.Constant, ast.Name, ast.Attribute, ast.Subscript, ast.Slice,
            ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
            ast.Compare, ast.IfExp, ast.Call, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Load,
            ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.Eq,
            ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
            ast.keyword)


def _describe(node: ast.AST) -> str:
    return type(node).__name__


def _a(value: Any) -> str:
    """``"a list"``, ``"an int"``: a value's type for messages."""
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _parse(text: str, source: str) -> ast.Expression:
    """Parse ``source`` (``text`` without surrounding whitespace, which ``ast`` refuses as an
    indent) and give its nodes the lines and columns they have in ``text``."""
    prefix = text[:len(text) - len(text.lstrip())]
    skipped_lines = prefix.count("\n")
    lead = len(prefix) - (prefix.rfind("\n") + 1)  # ASCII whitespace: bytes == characters
    try:
        tree = ast.parse(source + "\n", "<expression>", mode="eval")  # "\n": EOF gets a column
    except SyntaxError as exc:
        line = (exc.lineno or 1) + skipped_lines
        column = None if not exc.offset else \
            exc.offset + (lead if exc.lineno in (None, 1) else 0)
        raise ExpressionError(f"invalid expression: {exc.msg}", text, column, line) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"invalid expression: {exc}", text) from None
    for node in ast.walk(tree):
        if isinstance(node, ast.expr | ast.keyword):
            if node.lineno == 1:
                node.col_offset += lead
            node.lineno += skipped_lines
    return tree
