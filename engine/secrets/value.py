"""``SecretValue``: a secret that prints as ``[REDACTED]`` however it is shown (``str``,
``repr``, f-strings, logging), so passing one around cannot leak it by accident."""

from __future__ import annotations

from typing import Any

from . import masking


class SecretValue:
    """Holds a secret; ``get_secret_value()`` (as pydantic's ``SecretStr``) or the spec's
    ``get_secret()`` hand out the real text, everything else shows ``[REDACTED]``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, SecretValue):
            value = value.get_secret_value()
        if not isinstance(value, str):
            raise TypeError(f"SecretValue holds text, got {type(value).__name__}")
        self._value = value
        masking.register(value)  # whoever holds it may print it: mask it from now on

    def get_secret_value(self) -> str:
        """The real value: use it only where it is needed (a connection, a request header)."""
        return self._value

    get_secret = get_secret_value

    def __str__(self) -> str:
        return masking.REDACTED

    def __repr__(self) -> str:
        return masking.REDACTED

    def __format__(self, spec: str) -> str:
        return format(masking.REDACTED, spec)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SecretValue):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("SecretValue", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __copy__(self) -> SecretValue:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> SecretValue:
        return self

    def __reduce__(self) -> Any:
        raise TypeError("a SecretValue cannot be pickled: resolve the secret where it is used")
