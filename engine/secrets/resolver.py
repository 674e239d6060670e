"""``SecretsResolver``: asks its backends in order for a secret, registers every value it hands
out with the masker, and resolves ``secret:<backend>:<NAME>`` references. One process-wide
default (environment, then ``$SPINE_SECRETS_DIR`` or ``/run/secrets``) serves step configs and
``ctx.resolve_secret``; ``SecretsResolver.set_default`` swaps in another chain."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, ClassVar, overload

from . import masking
from .backends import EnvSecretBackend, FileSecretBackend, SecretBackend
from .errors import MissingSecretError, SecretBackendError, SecretError, UnknownSecretBackendError
from .references import PREFIX, parse_reference
from .value import SecretValue

#: how deep a value that is itself a reference (``PGPASSWORD=secret:env:POSTGRES_PASSWORD``)
#: is followed before the chain counts as a loop
MAX_INDIRECTION = 5
_MISSING: Any = object()


class SecretsResolver:
    """Resolve secrets through ``backends`` (first one that has it wins).

    ``resolve(name)`` returns the text and ``resolve_secret_value(name)`` a ``SecretValue``;
    both accept a reference (``secret:file:db_password``) as the name, which asks only the
    backends of that kind. With a ``default`` a missing secret returns the default (not
    masked: it is in the code already); without one it raises ``MissingSecretError``.
    Values are never cached, so a rotated secret is used by the next step that asks.
    """

    _default: ClassVar[SecretsResolver | None] = None
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, backends: Iterable[SecretBackend] | None = None) -> None:
        chosen = list(backends) if backends is not None else [EnvSecretBackend(),
                                                               FileSecretBackend()]
        for backend in chosen:
            if not isinstance(backend, SecretBackend):
                raise TypeError(f"SecretsResolver backends must be SecretBackend instances, "
                                f"got {type(backend).__name__}")
        self.backends: tuple[SecretBackend, ...] = tuple(chosen)
        by_scheme: dict[str, tuple[SecretBackend, ...]] = {}
        for backend in self.backends:
            name = backend.reference_name
            by_scheme[name] = (*by_scheme.get(name, ()), backend)
        self._by_scheme = by_scheme

    # ------------------------------------------------------------------ the default
    @classmethod
    def default(cls) -> SecretsResolver:
        """The process-wide resolver step configs and ``ctx.resolve_secret`` use."""
        current = cls._default
        if current is None:
            with cls._default_lock:
                if cls._default is None:
                    cls._default = SecretsResolver()
                current = cls._default
        return current

    @classmethod
    def set_default(cls, resolver: SecretsResolver | None) -> SecretsResolver | None:
        """Make ``resolver`` the process-wide default (None: back to env + files); returns the
        previous one so a caller can put it back."""
        with cls._default_lock:
            previous, cls._default = cls._default, resolver
        return previous

    # ------------------------------------------------------------------ lookups
    @property
    def backend_names(self) -> tuple[str, ...]:
        return tuple(self._by_scheme)

    def resolve(self, name: str, default: Any = _MISSING) -> Any:
        """The secret's value (text), from the first backend that has it."""
        if name.startswith(PREFIX):
            try:
                return self.resolve_reference(name)
            except MissingSecretError:
                if default is _MISSING:
                    raise
                return default
        value = self._lookup(name, self.backends, None, default)
        return value

    @overload
    def resolve_secret_value(self, name: str) -> SecretValue: ...

    @overload
    def resolve_secret_value(self, name: str, default: str) -> SecretValue: ...

    @overload
    def resolve_secret_value(self, name: str, default: None) -> SecretValue | None: ...

    def resolve_secret_value(self, name: str, default: Any = _MISSING) -> SecretValue | None:
        """The secret wrapped in a ``SecretValue`` (prints as ``[REDACTED]``); a text default
        is wrapped too, a ``None`` default comes back as ``None``."""
        value = self.resolve(name, default)
        if value is None:
            return None
        return value if isinstance(value, SecretValue) else SecretValue(str(value))

    def resolve_reference(self, text: str) -> str:
        """The value of a ``secret:<backend>:<NAME>`` reference, asking only that kind of
        backend; raises ``SecretReferenceError``, ``UnknownSecretBackendError`` or
        ``MissingSecretError``."""
        reference = parse_reference(text)
        backends = self._by_scheme.get(reference.backend)
        if not backends:
            raise UnknownSecretBackendError(reference.backend, self.backend_names,
                                            reference=text)
        value: str = self._lookup(reference.name, backends, text, _MISSING)
        return value

    def _lookup(self, name: str, backends: tuple[SecretBackend, ...], reference: str | None,
                default: Any, depth: int = 0) -> Any:
        for backend in backends:
            try:
                value = backend.get(name)
            except SecretError:
                raise
            except Exception as exc:  # a failing API or unreadable file: say which and why
                raise SecretBackendError(backend.reference_name, name, exc,
                                         reference=reference) from exc
            if value is None:
                continue
            if isinstance(value, SecretValue):
                value = value.get_secret_value()
            elif not isinstance(value, str):  # a number from a JSON API: secrets are text
                value = str(value)
            if isinstance(value, str) and value.startswith(PREFIX):
                if depth >= MAX_INDIRECTION:
                    raise SecretError(f"secret {reference or name!r} refers to further secrets "
                                      f"more than {MAX_INDIRECTION} times (a loop?)",
                                      reference=reference)
                try:
                    value = self._follow(value, depth)
                except SecretError as exc:
                    raise exc.followed_from(reference or name) from None
            masking.register(value)
            return value
        if default is not _MISSING:
            return default
        raise MissingSecretError(name, [b.describe(name) for b in backends], reference=reference)

    def _follow(self, text: str, depth: int) -> str:
        """The value of ``text``, a reference found as another secret's value."""
        inner = parse_reference(text)
        chain = self._by_scheme.get(inner.backend)
        if not chain:
            raise UnknownSecretBackendError(inner.backend, self.backend_names, reference=text)
        value: str = self._lookup(inner.name, chain, text, _MISSING, depth + 1)
        return value

    def __repr__(self) -> str:
        return f"SecretsResolver([{', '.join(type(b).__name__ for b in self.backends)}])"


def resolve_secret(name: str, default: Any = _MISSING) -> Any:
    """``SecretsResolver.default().resolve(name, default)``: what ``ctx.resolve_secret`` calls."""
    return SecretsResolver.default().resolve(name, default)
