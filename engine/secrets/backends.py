"""Secret backends: where a secret's value comes from (the environment, a folder of files such
as Docker/Kubernetes mounted secrets, or a custom ``SecretBackend`` such as a Vault API)."""

from __future__ import annotations

import functools
import os
import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

#: the default folder of mounted secrets (Docker and Kubernetes mount them here)
DEFAULT_SECRETS_DIR = "/run/secrets"
SECRETS_DIR_ENV = "SPINE_SECRETS_DIR"
_SUFFIXES = ("SecretBackend", "Backend")
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


class SecretBackend(ABC):
    """Base class for secret sources: override ``get(name)`` (None when the backend does not
    have the secret). ``scheme`` is the backend's name in references (``secret:<scheme>:NAME``);
    without one it comes from the class name (``APISecretBackend`` -> ``api``). A lookup that
    fails fails the step: raise ``ConnectionError``/``TimeoutError`` when a retry could help
    (category TRANSIENT), anything else for DEPENDENCY."""

    scheme: ClassVar[str | None] = None

    @abstractmethod
    def get(self, name: str) -> str | None:
        """The secret's value, or None when this backend does not have it."""

    @property
    def reference_name(self) -> str:
        """The ``<backend>`` part of references this backend answers."""
        if self.scheme:
            return self.scheme
        name = type(self).__name__
        for suffix in _SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                break
        return name.lower()

    def describe(self, name: str) -> str:
        """Where this backend looked for ``name``, for error messages (never a value)."""
        return self.reference_name


class EnvSecretBackend(SecretBackend):
    """Secrets from environment variables: ``NAME`` as given, then ``NAME`` upper-cased with
    other characters as ``_`` (so ``postgres_password`` finds ``$POSTGRES_PASSWORD``), each
    after an optional ``prefix``. Read at every lookup, so a rotated value is picked up."""

    scheme = "env"

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def candidates(self, name: str) -> tuple[str, ...]:
        return _env_names(self.prefix, name)

    def get(self, name: str) -> str | None:
        for key in self.candidates(name):
            value = os.environ.get(key)
            if value is not None:
                return value
        return None

    def describe(self, name: str) -> str:
        return "env (" + ", ".join(f"${key}" for key in self.candidates(name)) + ")"


@functools.lru_cache(maxsize=1024)
def _env_names(prefix: str, name: str) -> tuple[str, ...]:
    """The variables ``name`` is looked up as, in order (cached: computed once per name)."""
    upper = "".join(c if c.isalnum() else "_" for c in name).upper()
    return tuple(dict.fromkeys((prefix + name, prefix + upper)))


class FileSecretBackend(SecretBackend):
    """Secrets as files in a folder, one file per secret (``<dir>/<name>``, then the lower-case
    name), trailing newline dropped. Without a folder: ``$SPINE_SECRETS_DIR``, else
    ``/run/secrets``, decided at each lookup. Names cannot leave the folder."""

    scheme = "file"

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self._directory = Path(directory).expanduser() if directory is not None else None

    @property
    def directory(self) -> Path:
        if self._directory is not None:
            return self._directory
        return Path(os.environ.get(SECRETS_DIR_ENV) or DEFAULT_SECRETS_DIR).expanduser()

    def candidates(self, name: str) -> list[Path]:
        if not _FILE_NAME.match(name):
            return []  # a path separator or a leading dot: never read outside the folder
        folder = self.directory
        return [folder / n for n in dict.fromkeys((name, name.lower()))]

    def get(self, name: str) -> str | None:
        for path in self.candidates(name):
            try:
                text = path.read_text(encoding="utf-8")
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                continue
            return text.removesuffix("\n").removesuffix("\r")
        return None

    def describe(self, name: str) -> str:
        paths = self.candidates(name)
        if not paths:
            return f"file (name {name!r} is not a plain file name)"
        return "file (" + ", ".join(str(p) for p in paths) + ")"
