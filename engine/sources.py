"""``SourceRef``: where a run's definition came from, written once on the run and parsed here.

A run records its source so ``resume``, ``retry``, the debugger and the TUI can rebuild the
exact definition later. Three kinds exist: a workflow file (stored as its absolute path, so
it loads from any working directory), a registered workflow (``registry:NAME``) and a
``ManagedWorkflow`` built in a script (``managed:NAME``). The text form is what the store
keeps; nothing else formats or parses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SourceKind = Literal["file", "registry", "managed"]
_PREFIXED: tuple[SourceKind, ...] = ("registry", "managed")


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A run's definition source: ``kind`` and its ``location`` (a path or a workflow name)."""

    kind: SourceKind
    location: str

    @classmethod
    def file(cls, path: str | Path) -> SourceRef:
        return cls("file", str(Path(path).resolve()))

    @classmethod
    def registry(cls, name: str) -> SourceRef:
        return cls("registry", name)

    @classmethod
    def managed(cls, name: str) -> SourceRef:
        return cls("managed", name)

    @classmethod
    def parse(cls, text: str | None) -> SourceRef | None:
        """The reference a stored ``source`` column holds (None when the run recorded none)."""
        if not text:
            return None
        for kind in _PREFIXED:
            if text.startswith(f"{kind}:"):
                return cls(kind, text[len(kind) + 1:])
        return cls("file", text)

    @property
    def path(self) -> Path | None:
        """The workflow file, for a file reference."""
        return Path(self.location) if self.kind == "file" else None

    def __str__(self) -> str:
        return self.location if self.kind == "file" else f"{self.kind}:{self.location}"
