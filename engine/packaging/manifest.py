"""``PackageManifest``: what a workflow archive holds, as ``manifest.json`` inside it, and the
checksum that ties the manifest to the archive's contents.

The checksum is SHA-256 over a canonical listing of the contents (``<sha256>  <path>`` per
file, sorted by path, ``manifest.json`` itself excluded), so the same contents always give
the same checksum, whenever they are packaged. It detects changed, missing and added files;
it is an integrity check, not a signature (whoever can rewrite the archive can rewrite the
manifest too).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import NotAPackageError, PackageError

#: marks ``manifest.json`` as ours; ``FORMAT_VERSION`` is the layout this engine reads
FORMAT = "spine-workflow-package"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
DEFINITION_NAME = "workflow.yaml"


@dataclass(frozen=True, slots=True)
class PackageManifest:
    """Metadata of a packaged workflow: names and counts for people (the spec's fields), and
    the entry, modules, requirements and checksums the archive's runner relies on.

    ``definition`` is ``"yaml"`` (``entry`` is the ``WorkflowSpec`` file in the archive) or
    ``"module"`` (``entry`` is the module whose top level defines the workflow);
    ``modules`` are imported, in order, before the definition is built (handlers, modules
    that register pipelines). ``requirements`` are ``name==version`` of the distributions
    the code imports, as installed when it was packaged.
    """

    workflow_name: str
    workflow_version: int
    step_count: int
    packaged_at: str
    checksum: str
    entry: str
    definition: str = "yaml"
    modules: tuple[str, ...] = ()
    handler_files: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    domain: str = ""
    description: str = ""
    python_version: str = ""
    files: Mapping[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def name(self) -> str:
        """The packaged workflow's name (``workflow_name``)."""
        return self.workflow_name

    @property
    def version(self) -> int:
        """The packaged workflow's version (``workflow_version``)."""
        return self.workflow_version

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written as ``manifest.json`` (lists for tuples, the format marker first)."""
        return {"format": FORMAT, "format_version": self.format_version,
                "workflow_name": self.workflow_name, "workflow_version": self.workflow_version,
                "domain": self.domain, "description": self.description, "tags": list(self.tags),
                "step_count": self.step_count, "packaged_at": self.packaged_at,
                "python_version": self.python_version, "definition": self.definition,
                "entry": self.entry, "modules": list(self.modules),
                "handler_files": list(self.handler_files),
                "requirements": list(self.requirements), "warnings": list(self.warnings),
                "checksum": self.checksum, "files": dict(sorted(self.files.items()))}

    @classmethod
    def from_dict(cls, data: Any, source: str | Path = "manifest.json") -> PackageManifest:
        """Read a manifest's JSON data; anything not written by this packager is a
        ``NotAPackageError`` naming the field, and a newer layout a ``PackageError``."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise NotAPackageError(source, f"{MANIFEST_NAME} does not say format {FORMAT!r}")
        version = data.get("format_version")
        if not isinstance(version, int):
            raise NotAPackageError(source, "format_version is missing or not a number")
        if version > FORMAT_VERSION:
            raise PackageError(f"{source} uses package format {version}; this engine reads "
                               f"format {FORMAT_VERSION}: upgrade spine-tui to use it")
        try:
            return cls(
                workflow_name=_text(data, "workflow_name"),
                workflow_version=_number(data, "workflow_version"),
                step_count=_number(data, "step_count"),
                packaged_at=_text(data, "packaged_at"), checksum=_text(data, "checksum"),
                entry=_text(data, "entry"), definition=_text(data, "definition"),
                modules=_texts(data, "modules"), handler_files=_texts(data, "handler_files"),
                requirements=_texts(data, "requirements"), warnings=_texts(data, "warnings"),
                tags=_texts(data, "tags"), domain=_text(data, "domain", ""),
                description=_text(data, "description", ""),
                python_version=_text(data, "python_version", ""), files=_files(data),
                format_version=version)
        except (KeyError, TypeError) as exc:
            raise NotAPackageError(source, f"{MANIFEST_NAME}: {exc.args[0]}") from None


def digest(data: bytes) -> str:
    """Hex SHA-256 of one file's bytes."""
    return hashlib.sha256(data).hexdigest()


def listing(files: Mapping[str, str]) -> str:
    """The canonical listing the checksum covers: ``<sha256>  <path>`` lines sorted by path."""
    return "".join(f"{files[name]}  {name}\n" for name in sorted(files))


def checksum(files: Mapping[str, str]) -> str:
    """``sha256:<hex>`` of the canonical listing of ``files`` (path -> hex SHA-256)."""
    return "sha256:" + digest(listing(files).encode("utf-8"))


def _text(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise TypeError(f"{key} must be text")
    return value


def _number(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{key} must be a whole number")
    return value


def _texts(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{key} must be a list of text")
    return tuple(value)


def _files(data: dict[str, Any]) -> dict[str, str]:
    value = data.get("files")
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise TypeError("files must map archive paths to SHA-256 digests")
    return dict(value)
