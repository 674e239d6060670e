"""The errors secret resolution raises: each names the secret (and reference, step) but never a
value, and carries the ``CONFIGURATION`` category so a failed step says what to fix."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import WorkflowError
from ..policies import ErrorCategory
from . import masking

#: how a malformed reference should look, repeated in every error about one
REFERENCE_FORM = "secret:<backend>:<NAME>, e.g. secret:env:DB_PASSWORD or secret:file:db_password"


class SecretError(WorkflowError):
    """Base class for secret problems; ``category`` tells the runner how the step failed."""

    category: str = ErrorCategory.CONFIGURATION.value

    def __init__(self, message: str, *, reference: str | None = None,
                 step: str | None = None) -> None:
        self.reason = message
        self.reference = reference
        self.step = step
        super().__init__(self._text())

    def _text(self) -> str:
        where = f"step {self.step!r}: " if self.step else ""
        return where + self.reason

    def in_step(self, step: str, where: str | None = None) -> SecretError:
        """The same error, told from where it happened (the step, and e.g. its config key)."""
        if self.step is None:
            self.step = step
            if where:
                self.reason = f"{where}: {self.reason}"
            self.args = (self._text(),)
        return self

    def followed_from(self, outer: str) -> SecretError:
        """The same error, saying the secret was reached through ``outer``'s value (a
        reference that refers to another), and counting as ``outer``'s from now on."""
        base = self.reason.split(" (reached through the value of ")[0]
        self.reason = f"{base} (reached through the value of {outer!r})"
        self.reference = outer
        self.args = (self._text(),)
        return self

    def located(self, where: str) -> SecretError:
        """The same error with ``where`` the reference sits (``config key 'database_url'``)."""
        self.reason = f"{where}: {self.reason}"
        self.args = (self._text(),)
        return self


class MissingSecretError(SecretError, LookupError):
    """No backend has the secret: names it and every place looked, never a value."""

    def __init__(self, name: str, tried: Sequence[str], *, reference: str | None = None,
                 step: str | None = None) -> None:
        self.name = name
        self.tried = tuple(tried)
        what = reference or name
        looked = "; ".join(self.tried) or "no backends configured"
        super().__init__(f"secret {what!r} not found (tried {looked}); set it in one of "
                         "those places", reference=reference, step=step)


class UnknownSecretBackendError(SecretError, LookupError):
    """A reference names a backend the resolver does not have (``secret:vault:X`` without one)."""

    def __init__(self, backend: str, known: Sequence[str], *, reference: str | None = None,
                 step: str | None = None) -> None:
        self.backend = backend
        self.known = tuple(known)
        names = ", ".join(self.known) or "none"
        super().__init__(
            f"secret reference {reference or backend!r} names backend {backend!r}, which is not "
            f"configured (backends: {names}); add one with "
            f"SecretsResolver.set_default(SecretsResolver([...]))",
            reference=reference, step=step)


class SecretReferenceError(SecretError, ValueError):
    """A value starts with ``secret:`` but is not a well-formed reference."""

    def __init__(self, text: str, problem: str, *, step: str | None = None) -> None:
        self.text = text
        super().__init__(f"malformed secret reference {text!r}: {problem}; write it as "
                         f"{REFERENCE_FORM}", reference=text, step=step)


class SecretBackendError(SecretError):
    """A backend failed while looking a secret up (unreadable file, unreachable API)."""

    def __init__(self, backend: str, name: str, cause: BaseException, *,
                 reference: str | None = None, step: str | None = None) -> None:
        self.backend = backend
        self.name = name
        if isinstance(cause, ConnectionError | TimeoutError):
            self.category = ErrorCategory.TRANSIENT.value
        else:
            self.category = ErrorCategory.DEPENDENCY.value
        detail = masking.mask(str(cause))[:200]
        super().__init__(f"secret backend {backend!r} failed to look up {name!r}: "
                         f"{type(cause).__name__}" + (f": {detail}" if detail else ""),
                         reference=reference, step=step)
