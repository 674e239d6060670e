"""Secret references in channel settings (``secret:env:NAME``, ``secret:file:NAME``), resolved
through the engine's default ``SecretsResolver`` only when an alert is sent, so the outbox
and stored definitions keep the reference and never the value."""

from __future__ import annotations

from collections.abc import Callable

from ..secrets import (
    SecretError,
    SecretReferenceError,
    SecretsResolver,
    UnknownSecretBackendError,
    is_reference,
    masking,
)
from .errors import AlertDeliveryError

#: turns a setting (maybe a reference) into the value to use; raises ``AlertDeliveryError``
Resolver = Callable[[str], str]

__all__ = ["RecordingResolver", "Resolver", "is_reference", "resolve_reference"]


def resolve_reference(value: str) -> str:
    """``value`` itself, or the secret its reference names; a malformed reference or unknown
    backend fails the alert for good, a missing secret is retried (it may be set later)."""
    if not is_reference(value):
        return value
    try:
        return SecretsResolver.default().resolve_reference(value)
    except (SecretReferenceError, UnknownSecretBackendError) as exc:
        raise AlertDeliveryError(str(exc), permanent=True) from None
    except SecretError as exc:
        raise AlertDeliveryError(str(exc)) from None


class RecordingResolver:
    """Resolves references and remembers the values it gave out, so an error message that
    happens to quote one (a URL in an HTTP error) is redacted before it is stored."""

    def __init__(self, resolve: Resolver = resolve_reference) -> None:
        self._resolve = resolve
        self.values: list[str] = []

    def __call__(self, value: str) -> str:
        resolved = self._resolve(value)
        if is_reference(value) and resolved:
            self.values.append(resolved)
        return resolved

    def redact(self, text: str) -> str:
        """``text`` without the values given out here or any secret the process masks."""
        for secret in sorted(self.values, key=len, reverse=True):
            text = text.replace(secret, masking.REDACTED)
        return masking.mask(text)
