"""Errors of packaging a workflow into a ``.pyz`` archive and of reading one back."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import WorkflowError


class PackageError(WorkflowError):
    """A workflow cannot be packaged, or an archive cannot be used (base of the errors below)."""


class NotAPackageError(PackageError):
    """The file is not a workflow package written by ``WorkflowPackager`` (or is unreadable)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path} is not a spine workflow package: {reason}")


class PackageTamperedError(PackageError):
    """The archive's contents differ from what its manifest lists: named file by file."""

    def __init__(self, path: str | Path, *, changed: Sequence[str] = (),
                 missing: Sequence[str] = (), added: Sequence[str] = (),
                 reason: str = "") -> None:
        self.path = str(path)
        self.changed = tuple(changed)
        self.missing = tuple(missing)
        self.added = tuple(added)
        parts = [f"changed: {', '.join(self.changed)}" if self.changed else "",
                 f"missing: {', '.join(self.missing)}" if self.missing else "",
                 f"not in the manifest: {', '.join(self.added)}" if self.added else "",
                 reason]
        detail = "; ".join(p for p in parts if p)
        super().__init__(f"{path} was modified after it was packaged ({detail}); "
                         "package the workflow again instead of editing the archive")


class PackageSecretError(PackageError):
    """A file bound for the archive holds the value of a secret this process resolved."""

    def __init__(self, files: Sequence[str]) -> None:
        self.files = tuple(files)
        super().__init__(
            f"refusing to package: {', '.join(self.files)} would hold the value of a secret "
            "resolved in this process; keep credentials out of the code and the definition "
            "and put references (secret:env:NAME, secret:file:NAME) in step config instead")
