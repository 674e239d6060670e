"""Secret references in step config: ``secret:<backend>:<NAME>`` strings, found anywhere in
nested dicts and lists and resolved on a copy at the moment a step runs, so the definition
(and every store, export and version made from it) keeps only the reference text."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import SecretError, SecretReferenceError

if TYPE_CHECKING:
    from .resolver import SecretsResolver

PREFIX = "secret:"
_REFERENCE = re.compile(r"^secret:(?P<backend>[A-Za-z][A-Za-z0-9_\-]*):(?P<name>[A-Za-z0-9_.\-/]+)$")


@dataclass(frozen=True, slots=True)
class SecretReference:
    """A parsed ``secret:<backend>:<name>``."""

    backend: str
    name: str

    @property
    def text(self) -> str:
        return f"{PREFIX}{self.backend}:{self.name}"

    def __str__(self) -> str:
        return self.text


def is_reference(value: object) -> bool:
    """True for any string that claims to be a reference (well-formed or not)."""
    return isinstance(value, str) and value.startswith(PREFIX)


def is_well_formed(value: object) -> bool:
    """True for a string that is a complete ``secret:<backend>:<NAME>`` reference."""
    return isinstance(value, str) and _REFERENCE.match(value) is not None


@functools.lru_cache(maxsize=1024)
def parse_reference(text: str) -> SecretReference:
    """The reference ``text`` names, or a ``SecretReferenceError`` saying what is wrong
    (cached: a step's references are parsed once, not on every run)."""
    match = _REFERENCE.match(text)
    if match:
        return SecretReference(match["backend"].lower(), match["name"])
    rest = text[len(PREFIX):] if text.startswith(PREFIX) else text
    backend, sep, name = rest.partition(":")
    if not text.startswith(PREFIX):
        problem = f"it does not start with {PREFIX!r}"
    elif not sep:
        problem = "it has no ':' between the backend and the secret's name"
    elif not backend:
        problem = "the backend is empty"
    elif not re.fullmatch(r"[A-Za-z][A-Za-z0-9_\-]*", backend):
        problem = f"backend {backend!r} is not a plain name"
    elif not name:
        problem = "the secret's name is empty"
    else:
        problem = (f"name {name!r} may only hold letters, digits and _ . - / "
                   "(no spaces or other ':')")
    raise SecretReferenceError(text, problem)


#: value types that never hold a reference, skipped without a call
_SCALARS = frozenset({int, float, bool, type(None), bytes})


def has_references(data: Any) -> bool:
    """True when ``data`` (a config: nested dicts, lists, tuples) holds a ``secret:`` string;
    exact-type checks first, as it runs for every step of every run."""
    kind = type(data)
    if kind is str:
        return data.startswith(PREFIX)  # type: ignore[no-any-return]
    if kind is dict:
        values: Any = data.values()
    elif kind is list or kind is tuple:
        values = data
    elif isinstance(data, Mapping):
        values = data.values()
    elif isinstance(data, list | tuple):
        values = data
    else:
        return False
    for value in values:
        kind = type(value)
        if kind is str:
            if value.startswith(PREFIX):
                return True
        elif kind not in _SCALARS and has_references(value):
            return True
    return False


def check_references(data: Any) -> None:
    """Raise ``SecretReferenceError`` for the first malformed reference in ``data``, naming
    where it sits (``config key 'db.password'``): a typo is found when the workflow is built,
    not when the step runs. Backends are not checked here — custom ones register at run time."""
    if not has_references(data):
        return
    for path, value in _strings(data, ()):
        if value.startswith(PREFIX):
            try:
                parse_reference(value)
            except SecretReferenceError as exc:
                raise exc.located(f"config key {_dotted(path)!r}") from None


def _strings(data: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every string in nested dicts, lists and tuples, with where it sits."""
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, Mapping):
        for key, value in data.items():
            yield from _strings(value, (*path, key))
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            yield from _strings(value, (*path, i))


def resolve_references(data: Any, resolver: SecretsResolver, *, step: str | None = None,
                       path: str = "", label: str = "config key") -> Any:
    """A copy of ``data`` with each reference replaced by its value (the original is untouched);
    errors name the step and where the reference sits (``config key 'db.password'``), found
    only when there is an error, so the common path builds no key paths."""
    try:
        return _resolve(data, resolver)
    except SecretError as exc:
        if exc.reference is not None:
            found = _path_of(data, exc.reference)
            where = (path,) + found if path else found
            text = f"{label} {_dotted(where)!r}" if where else None
        else:
            text = f"{label} {path!r}" if path else None
        raise (exc.in_step(step, text) if step else exc) from None


def _resolve(data: Any, resolver: SecretsResolver) -> Any:
    """``data`` with references resolved: copied only where something changed, so a config
    without references comes back as the same object after one walk."""
    kind = type(data)
    if kind is str:
        return resolver.resolve_reference(data) if data.startswith(PREFIX) else data
    if kind is dict or isinstance(data, Mapping):
        out: dict[Any, Any] | None = None
        for key, value in data.items():
            kind = type(value)
            if kind is str:
                if not value.startswith(PREFIX):
                    continue
                new = resolver.resolve_reference(value)
            elif kind in _SCALARS:
                continue
            else:
                new = _resolve(value, resolver)
                if new is value:
                    continue
            if out is None:
                out = dict(data)
            out[key] = new
        return data if out is None else out
    if kind is list or kind is tuple or isinstance(data, list | tuple):
        items = [_resolve(v, resolver) for v in data]
        if all(new is old for new, old in zip(items, data, strict=True)):
            return data
        return items if isinstance(data, list) else tuple(items)
    return data


def _path_of(data: Any, reference: str) -> tuple[Any, ...]:
    """Where in ``data`` the string ``reference`` first sits (keys and list indexes)."""
    if isinstance(data, Mapping):
        pairs: Any = data.items()
    elif isinstance(data, list | tuple):
        pairs = enumerate(data)
    else:
        return ()
    for key, value in pairs:
        if value == reference:
            return (key,)
        inner = _path_of(value, reference)
        if inner:
            return (key, *inner)
    return ()


def _dotted(path: tuple[Any, ...]) -> str:
    """``('db', 'hosts', 1, 'token')`` -> ``db.hosts[1].token``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text = f"{text}.{part}" if text else str(part)
    return text
