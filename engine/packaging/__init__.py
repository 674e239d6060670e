"""Packaging (spec A4, F4): a workflow as one PEP 441 ``.pyz`` archive with its manifest,
definition and handler source, inspected without running it and run with ``python``."""

from __future__ import annotations

from .errors import NotAPackageError, PackageError, PackageSecretError, PackageTamperedError
from .manifest import PackageManifest
from .packager import PackageResult, WorkflowPackager

__all__ = ["NotAPackageError", "PackageError", "PackageManifest", "PackageResult",
           "PackageSecretError", "PackageTamperedError", "WorkflowPackager"]
