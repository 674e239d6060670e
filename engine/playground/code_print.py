"""A handler's code fingerprint: what it runs, not how its source text looks.

It hashes compiled code (bytecode, constants, names, flags and the exception table,
recursively through nested functions, lambdas and comprehensions), never source text: a new
comment, blank line, docstring or a function moved down the file changes nothing, any edit
to what runs does. The code a handler reaches is followed too: global names its code reads
that resolve to functions, classes or modules of the same module or of a module file beside
it (its folder and below; never an installed package), transitively, each function once;
plain constants it reads (``THRESHOLD = 8``) count with their value.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import sys
from pathlib import Path
from types import CodeType, FunctionType, MethodType, ModuleType
from typing import Any

from ..expressions import Expression
from ..steps import SkipIf

_SCALARS = (int, float, complex, str, bytes, bool, type(None))
_MAX_FUNCTIONS = 400  # code reached beyond this many functions is not followed
_INSTALLED = ("site-packages", "dist-packages")


def code_digest(code: CodeType, *, docstring: str | None = None) -> str:
    """A digest of what ``code`` does: not its file, line numbers or (given) docstring."""
    h = hashlib.blake2b(digest_size=16)
    _feed_code(h, code, docstring)
    return h.hexdigest()


def _feed_code(h: Any, code: CodeType, docstring: str | None = None) -> None:
    h.update(code.co_code)
    h.update(getattr(code, "co_exceptiontable", b""))
    h.update(repr((code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount,
                   code.co_flags, code.co_names, code.co_varnames, code.co_freevars,
                   code.co_cellvars)).encode())
    consts = code.co_consts
    if docstring is not None and consts and consts[0] == docstring:
        consts = (None, *consts[1:])  # a docstring edit is not a code change
    for const in consts:
        if isinstance(const, CodeType):
            h.update(b"<code>")
            _feed_code(h, const)
        else:
            h.update(_const_text(const).encode())
            h.update(b"\x00")


def _const_text(value: Any) -> str:
    """A stable text for a constant (sets sorted, so their order never matters)."""
    if isinstance(value, frozenset | set):
        return "{" + ",".join(sorted(_const_text(v) for v in value)) + "}"
    if isinstance(value, tuple):
        return "(" + ",".join(_const_text(v) for v in value) + ")"
    return f"{type(value).__name__}:{value!r}"


def _all_names(code: CodeType) -> set[str]:
    """Global and attribute names read by ``code`` and the code nested in it."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _all_names(const)
    return names


def _unwrap(obj: Any) -> Any:
    """The function behind decorators, guards, partials and bound methods."""
    for _ in range(20):
        if isinstance(obj, SkipIf):
            obj = obj.fn
        elif isinstance(obj, MethodType):
            obj = obj.__func__
        elif isinstance(obj, staticmethod | classmethod):
            obj = obj.__func__
        elif getattr(obj, "__wrapped__", None) is not None:
            obj = obj.__wrapped__
        else:
            return obj
    return obj


class _Walker:
    """Collects ``(label, digest)`` of the code one handler reaches, each function once."""

    def __init__(self, root: Any) -> None:
        self.entries: list[tuple[str, str]] = []
        self.seen: set[int] = set()
        fn = _unwrap(root)
        code = getattr(fn, "__code__", None)
        folder = Path(code.co_filename).parent if isinstance(code, CodeType) else None
        self.folder = folder if folder is not None and folder.is_dir() else None
        self.module = getattr(fn, "__module__", None)

    def callable(self, obj: Any, label: str | None = None) -> None:
        if isinstance(obj, SkipIf):
            self.predicate(obj.predicate)
        fn = _unwrap(obj)
        if isinstance(fn, functools.partial):
            name = getattr(fn.func, "__qualname__", None) or _label(fn.func)
            self.entries.append((label or f"partial({name})",
                                 digest_text(stable_text((fn.args, fn.keywords)))))
            self.callable(fn.func)
        elif isinstance(fn, FunctionType):
            self.function(fn, label)
        elif isinstance(fn, type):
            self.klass(fn)
        elif isinstance(inspect.getattr_static(type(fn), "__call__", None), FunctionType):
            self.entries.append((label or _label(type(fn)), digest_text(stable_text(fn))))
            self.klass(type(fn))
        else:  # a builtin or C function: only its name can change
            self.entries.append((label or _label(fn), digest_text(_label(fn))))

    def predicate(self, predicate: Any) -> None:
        if isinstance(predicate, Expression):
            self.entries.append(("skip_if", digest_text(predicate.text)))
        else:
            self.callable(predicate, "skip_if")

    def function(self, fn: FunctionType, label: str | None = None) -> None:
        if id(fn) in self.seen or len(self.seen) >= _MAX_FUNCTIONS:
            return
        self.seen.add(id(fn))
        h = hashlib.blake2b(digest_size=16)
        _feed_code(h, fn.__code__, fn.__doc__ if isinstance(fn.__doc__, str) else None)
        defaults = [*(fn.__defaults__ or ()), *sorted((fn.__kwdefaults__ or {}).items())]
        cells = []
        for cell in fn.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell (a name assigned later)
                value = None
            cells.append(value)
        h.update("|".join(map(_value_text, [*defaults, *(c for c in cells
                                                          if not callable(c))])).encode())
        name = fn.__qualname__ if fn.__module__ == self.module else \
            f"{fn.__module__}.{fn.__qualname__}"
        self.entries.append((label or name, h.hexdigest()))
        for value in cells:
            if callable(value):
                self.follow(value, fn)
        self.globals(fn)

    def globals(self, fn: FunctionType) -> None:
        names = _all_names(fn.__code__)
        scope = fn.__globals__
        for name in sorted(names):
            if name not in scope:
                continue
            value = scope[name]
            if isinstance(value, ModuleType):
                if self.local_module(value):
                    for attr in sorted(names):
                        member = getattr(value, attr, None)
                        if member is not None and not isinstance(member, ModuleType):
                            self.follow(member, fn)
            elif isinstance(value, _SCALARS) or _is_plain_data(value):
                self.entries.append((name, digest_text(stable_text(value))))
            else:
                self.follow(value, fn)

    def follow(self, value: Any, referrer: FunctionType, label: str | None = None) -> None:
        """Follow ``value`` when it is code of the referrer's module or a module beside it."""
        fn = _unwrap(value)
        target = fn.func if isinstance(fn, functools.partial) else fn
        if isinstance(target, FunctionType):
            if self.local(target.__module__, target.__code__.co_filename, referrer):
                self.callable(value, label)
        elif isinstance(target, type):
            module = sys.modules.get(target.__module__)
            if self.local(target.__module__, getattr(module, "__file__", None), referrer):
                self.klass(target)

    def klass(self, cls: type) -> None:
        if id(cls) in self.seen or len(self.seen) >= _MAX_FUNCTIONS:
            return
        self.seen.add(id(cls))
        bases = ",".join(_label(b) for b in cls.__mro__[1:])
        self.entries.append((cls.__qualname__, digest_text(bases)))
        for attr, member in sorted(vars(cls).items()):
            if isinstance(member, property):
                member = member.fget
            member = _unwrap(member)
            if isinstance(member, FunctionType) and member.__module__ == cls.__module__:
                self.function(member, f"{cls.__qualname__}.{attr}")
            elif not attr.startswith("__") and isinstance(member, _SCALARS):
                self.entries.append((f"{cls.__qualname__}.{attr}", digest_text(stable_text(member))))

    def local(self, module: str | None, filename: str | None, referrer: FunctionType) -> bool:
        if module is not None and module == referrer.__module__:
            return True
        return self.local_file(filename)

    def local_module(self, module: ModuleType) -> bool:
        return self.local_file(getattr(module, "__file__", None))

    def local_file(self, filename: str | None) -> bool:
        if not filename or self.folder is None:
            return False
        path = Path(filename)
        if any(part in _INSTALLED for part in path.parts):
            return False
        return path.is_relative_to(self.folder)


def handler_fingerprint(handler: Any) -> tuple[tuple[str, str], ...]:
    """``(label, digest)`` of each function, class and constant ``handler`` runs or reads."""
    walker = _Walker(handler)
    walker.callable(handler)
    return tuple(walker.entries)




def _is_plain_data(value: Any) -> bool:
    """Small containers of scalars: module-level settings a handler may read."""
    if isinstance(value, tuple | list | frozenset | set):
        return len(value) <= 256 and all(isinstance(v, _SCALARS) for v in value)
    if isinstance(value, dict):
        return len(value) <= 256 and all(isinstance(k, _SCALARS) and isinstance(v, _SCALARS)
                                         for k, v in value.items())
    return False


def _value_text(value: Any) -> str:
    """Plain data by value; anything else (a client, a frame) by its type only, so a large or
    unprintable object costs nothing."""
    if isinstance(value, _SCALARS) or _is_plain_data(value):
        return stable_text(value)
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return f"{value[0]}={_value_text(value[1])}"  # a keyword-only default
    return _label(type(value))


def stable_text(value: Any) -> str:
    """A text for data that is the same for equal data (keys sorted, no memory addresses)."""
    return json.dumps(value, sort_keys=True, default=_fallback, separators=(",", ":"))


def _fallback(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(stable_text(v) for v in value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, bytes | complex):
        return repr(value)
    if callable(value):
        return _label(_unwrap(value))
    text = repr(value)
    return _label(type(value)) if " at 0x" in text else f"{_label(type(value))}:{text}"


def _label(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{module}.{name}" if module else str(name)


def digest_text(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


