"""Trigger filters: a CEL expression over the event (``engine.expressions``), never Python.

The rule for ``$``: the event is bound to the name ``event``, and every ``$`` outside string
literals and ``//`` comments stands for it, so the spec's ``$.ref == 'refs/heads/main'`` is
compiled as ``event.ref == 'refs/heads/main'``, ``$['x-id']`` as ``event['x-id']`` and
``size($) > 0`` as ``size(event)``. A ``$`` glued to a name (``$ref``, ``a$``) is an error
rather than a guess. The rewrite walks CEL's tokens (quoted, triple-quoted, raw and bytes
strings, comments), so ``'$.x'`` inside a string stays text.

An event fires only when the filter's value is ``true``. A filter that reads a field the event
does not have evaluates to ``None`` (see ``engine.expressions``) and does not fire; any other
failure, or a value that is not a boolean, is a ``TriggerFilterError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..expressions import Expression, ExpressionError
from .errors import TriggerDefinitionError, TriggerFilterError

EVENT = "event"
_QUOTES = ("'''", '"""', "'", '"')


def rewrite(text: str) -> tuple[str, list[int]]:
    """``text`` with each ``$`` outside strings and comments replaced by ``event``, and the
    offsets (in ``text``) of the replaced ``$`` signs; ``ValueError`` for a misplaced ``$``."""
    out: list[str] = []
    dollars: list[int] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(text[i:end])
            i = end
            continue
        quote = next((q for q in _QUOTES if text.startswith(q, i)), None)
        if quote is not None:
            end = _string_end(text, i, quote, raw=_is_raw(text, i))
            out.append(text[i:end])
            i = end
            continue
        if char == "$":
            before = text[i - 1] if i else " "
            after = text[i + 1] if i + 1 < n else " "
            if before.isalnum() or before in "_.$" or after.isalnum() or after in "_$":
                raise ValueError(f"'$' at column {i + 1} must stand alone: write $.field, "
                                 "$['field'] or $ (the whole event)")
            out.append(EVENT)
            dollars.append(i)
            i += 1
            continue
        out.append(char)
        i += 1
    return "".join(out), dollars


def _is_raw(text: str, quote_at: int) -> bool:
    """Whether the string opening at ``quote_at`` has an ``r``/``R`` prefix (``r``, ``br``, ``rb``)."""
    start = quote_at
    while start > 0 and text[start - 1] in "rRbB" and quote_at - start < 2:
        start -= 1
    prefix = text[start:quote_at]
    word_before = start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_")
    return not word_before and "r" in prefix.lower()


def _string_end(text: str, start: int, quote: str, *, raw: bool) -> int:
    """The offset just past the string literal opening at ``start`` (the end of ``text`` if it
    is unterminated: CEL then reports the error)."""
    i = start + len(quote)
    while i < len(text):
        if not raw and text[i] == "\\":
            i += 2
            continue
        if text.startswith(quote, i):
            return i + len(quote)
        i += 1
    return len(text)


def compile_filter(trigger: str, text: str) -> Expression:
    """The filter compiled over the name ``event``, or a ``TriggerDefinitionError`` naming the
    trigger, the filter and where in it the problem is."""
    if not isinstance(text, str):
        raise TriggerDefinitionError(f"trigger {trigger!r}: filter must be a string, got "
                                     f"{type(text).__name__}")
    try:
        cel, dollars = rewrite(text)
    except ValueError as exc:
        raise TriggerDefinitionError(f"trigger {trigger!r}: invalid filter {text!r}: {exc}"
                                     ) from None
    try:
        return Expression(cel, names=(EVENT,))
    except ExpressionError as exc:
        where = ""
        if exc.column is not None and (exc.line or 1) == 1:
            where = f" at column {_original_column(exc.column, dollars)}"
        raise TriggerDefinitionError(
            f"trigger {trigger!r}: invalid filter {text!r}{where}: {exc.reason}; a filter is a "
            "CEL expression over the event, written $.field or event.field (e.g. "
            "\"$.ref == 'refs/heads/main'\")") from None


def _original_column(column: int, dollars: list[int]) -> int:
    """The 1-based column in the filter as written of ``column`` in its rewritten form (each
    ``$`` became the five letters of ``event``)."""
    offset = column - 1
    for k, at in enumerate(dollars):
        start = at + 4 * k  # where this ``event`` begins in the rewritten text
        if offset < start:
            return offset - 4 * k + 1
        if offset < start + len(EVENT):
            return at + 1
    return offset - 4 * len(dollars) + 1


def matches(trigger: str, expression: Expression, event: Mapping[str, Any]) -> bool:
    """Whether ``event`` passes the filter: its value is ``true`` (``None``, from a missing
    field, is false); a failure or a non-boolean value raises ``TriggerFilterError``."""
    try:
        value = expression.evaluate({EVENT: event})
    except ExpressionError as exc:
        raise TriggerFilterError(f"trigger {trigger!r}: filter {expression.text!r} failed: "
                                 f"{exc.reason}") from None
    if value is None:
        return False
    if not isinstance(value, bool):
        raise TriggerFilterError(f"trigger {trigger!r}: filter {expression.text!r} gave "
                                 f"{value!r}, not true or false")
    return value
