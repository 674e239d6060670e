"""``WorkflowPackager``: a workflow as one PEP 441 ``.pyz`` archive that ``python`` runs.

The archive holds ``manifest.json`` (``PackageManifest``), the definition as a ``WorkflowSpec``
document (``workflow.yaml``) when the workflow exports to one (else the manifest names the
module that defines it), the source of its handler modules and of the user's modules they
import (``engine.packaging.modules``), and a ``__main__.py`` that runs it through
``engine.start_run`` where spine-tui is installed (``engine.packaging.runtime``).

It never holds a secret's value: step config keeps ``secret:...`` references as text (a
resolved ``SecretValue`` in a definition is refused), and every file is checked against the
values this process has resolved before anything is written. The archive is written to a
temporary file and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import json
import os
import platform
import re
import tempfile
import zipapp
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..discovery import DiscoveredWorkflow
from ..errors import WorkflowSpecError
from ..managed import ManagedWorkflow
from ..refs import is_ref
from ..secrets import SecretValue, masking
from ..spec import WorkflowSpec
from ..workflow import Workflow
from . import loading
from .archive import read_manifest
from .errors import PackageError, PackageSecretError
from .manifest import DEFINITION_NAME, MANIFEST_NAME, PackageManifest, checksum, digest
from .modules import MAIN, ModulePlan, plan_modules, walk_steps

SUFFIX = ".pyz"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_REF_KEYS = ("lambda", "function", "skip_if", "on_failure")
#: workflow settings a ``WorkflowSpec`` does not hold: with them the module is the definition
_NOT_IN_YAML = ("checkpoint_config", "artifact_retention")

_MAIN_PY = '''\
"""Runs the packaged spine workflow {name}: python {archive} [--param KEY=VALUE ...] [--db PATH]."""

import os
import sys

ARCHIVE = os.path.dirname(os.path.abspath(__file__))
if not sys.path or os.path.abspath(sys.path[0]) != ARCHIVE:  # the archive's modules first
    sys.path.insert(0, ARCHIVE)
try:
    from engine.packaging.runtime import main
except ImportError as exc:
    sys.stderr.write("error: this archive runs where the spine engine is installed "
                     f"(cannot import it: {{exc}})\\nhint: pip install {requirement}\\n")
    raise SystemExit(2) from None
raise SystemExit(main(ARCHIVE, sys.argv[1:]))
'''


@dataclass(frozen=True, slots=True)
class PackageResult:
    """A written archive: where it is and its manifest."""

    archive_path: Path
    manifest: PackageManifest

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.manifest.warnings


class WorkflowPackager:
    """Bundle a workflow into an executable ``.pyz`` (``python NAME.pyz [--param k=v]``).

    ``interpreter`` is the archive's shebang line (None for none); ``compressed`` deflates
    the files (archives are small either way).
    """

    def __init__(self, *, interpreter: str | None = "/usr/bin/env python3",
                 compressed: bool = True) -> None:
        self.interpreter = interpreter
        self.compressed = compressed

    def package(self, workflow: Workflow | ManagedWorkflow | DiscoveredWorkflow,
                output_dir: str | os.PathLike[str] = ".", *,
                paths: Iterable[str | os.PathLike[str]] = ()) -> PackageResult:
        """Write ``<output_dir>/<name>.pyz`` (dots in the name become ``_``) and return it.

        ``paths`` are more folders whose modules count as the user's own (carried, not
        required). Called while an archive of the same workflow loads its modules (a script
        that packages itself at its top level, imported by its own archive), it writes nothing
        and returns that archive.
        """
        wf, source = _target(workflow)
        running = loading.current()
        if running is not None and running.manifest.workflow_name == wf.name:
            return PackageResult(running.path, running.manifest)
        _refuse_secret_values(wf)
        plan = plan_modules(wf, source=source, roots=[Path(p) for p in paths])
        definition, warnings = _choose_definition(wf, plan)
        files = {path: carried.source for path, carried in plan.files.items()}
        if definition is not None:
            files[DEFINITION_NAME] = definition.encode("utf-8")
        files["__main__.py"] = self._main_py(wf.name, plan)
        manifest = _manifest(wf, plan, files, definition is not None, warnings)
        data = json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False) + "\n"
        files[MANIFEST_NAME] = data.encode("utf-8")
        _refuse_known_secrets(files)
        target = Path(output_dir) / (_UNSAFE.sub("_", wf.name) + SUFFIX)
        self._write(files, target)
        return PackageResult(target, manifest)

    @staticmethod
    def inspect(archive_path: str | os.PathLike[str]) -> PackageManifest:
        """The manifest of an archive, checked against its contents; nothing in it runs.

        Raises ``NotAPackageError`` for a file that is not a workflow package and
        ``PackageTamperedError`` (naming the files) for one changed since it was packaged.
        """
        return read_manifest(Path(archive_path))

    # ------------------------------------------------------------------ writing
    def _main_py(self, name: str, plan: ModulePlan) -> bytes:
        text = _MAIN_PY.format(name=re.sub(r'["\\\n]', "", name),
                               archive=_UNSAFE.sub("_", name) + SUFFIX,
                               requirement=repr(plan.project))
        return text.encode("utf-8")

    def _write(self, files: Mapping[str, bytes], target: Path) -> None:
        """Stage the files, zip them with ``zipapp`` into a temporary file, then rename."""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix="spine-package-") as staging:
                root = Path(staging)
                for name, data in files.items():
                    path = root / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
                partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
                try:
                    zipapp.create_archive(root, partial, interpreter=self.interpreter,
                                          compressed=self.compressed)
                    os.replace(partial, target)
                finally:
                    partial.unlink(missing_ok=True)
        except OSError as exc:
            raise PackageError(f"cannot write {target}: {exc.strerror or exc}") from None


# ------------------------------------------------------------------ helpers
def _target(workflow: Any) -> tuple[Workflow, Path | None]:
    """The runtime workflow and the file it was loaded from, when known."""
    if isinstance(workflow, DiscoveredWorkflow):
        source = Path(workflow.source)
        return workflow.workflow, source if source.is_file() else None
    if isinstance(workflow, ManagedWorkflow):
        return workflow.workflow, None
    if isinstance(workflow, Workflow):
        return workflow, None
    raise TypeError(f"package() needs a Workflow, ManagedWorkflow or discovered workflow, "
                    f"got {type(workflow).__name__}")


def _definition(workflow: Workflow, renamed: Mapping[str, str]) -> tuple[str | None, str]:
    """The workflow's ``WorkflowSpec`` YAML (handlers of ``__main__`` under the script's module
    name), or None and why it does not export."""
    try:
        spec = WorkflowSpec.from_workflow(workflow)
        if renamed:
            doc = spec.to_dict()
            for step in doc["spec"]["steps"]:
                _rename_refs(step, renamed)
            spec = WorkflowSpec.model_validate(doc)
        return spec.to_yaml(), ""
    except WorkflowSpecError as exc:
        return None, exc.detail


def _choose_definition(wf: Workflow, plan: ModulePlan) -> tuple[str | None, list[str]]:
    """The YAML definition, or None when the entry module defines the workflow instead (it
    does not export, or has settings a YAML spec cannot hold), and the warnings so far."""
    definition, why_not = _definition(wf, plan.renamed)
    warnings = list(plan.warnings)
    lost = [name for name in _NOT_IN_YAML if getattr(wf, name) is not None]
    if definition is not None and lost:
        why_not = f"a YAML spec has no place for its {' and '.join(lost)}"
        if plan.entry is None:
            warnings.append(f"{why_not}, so the archive runs without them (no module defines "
                            "the workflow at its top level)")
        else:
            definition = None
    if definition is None and plan.entry is None:
        raise PackageError(f"cannot package workflow {wf.name!r}: it does not export as a YAML "
                           f"spec ({why_not}) and no module defines it at its top level; define "
                           "it as a module-level Workflow in a .py file")
    if definition is None:
        warnings.append(f"the definition is module {plan.entry!r}, not a YAML spec: {why_not}")
    return definition, warnings


def _rename_refs(step: dict[str, Any], renamed: Mapping[str, str]) -> None:
    for key in _REF_KEYS:
        value = step.get(key)
        if isinstance(value, str) and is_ref(value):
            module, _, qualname = value.partition(":")
            step[key] = f"{renamed.get(module, module)}:{qualname}"
    for inner in (step.get("map") or {}).get("steps", []):
        _rename_refs(inner, renamed)


def _manifest(wf: Workflow, plan: ModulePlan, files: Mapping[str, bytes], yaml: bool,
              warnings: list[str]) -> PackageManifest:
    digests = {name: digest(data) for name, data in files.items()}
    return PackageManifest(
        workflow_name=wf.name, workflow_version=wf.version, step_count=len(wf.steps),
        packaged_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        checksum=checksum(digests), entry=DEFINITION_NAME if yaml else str(plan.entry),
        definition="yaml" if yaml else "module",
        modules=tuple(m for m in plan.imports if m != MAIN),
        handler_files=tuple(sorted(plan.files)), requirements=tuple(plan.requirements),
        warnings=tuple(warnings), tags=tuple(wf.tags), domain=wf.domain,
        description=wf.description, python_version=platform.python_version(), files=digests)


def _refuse_secret_values(wf: Workflow) -> None:
    """A definition holding a resolved ``SecretValue`` is refused: it takes a reference."""
    places: list[tuple[str, Any]] = [("defaults", wf.defaults)]
    for step in walk_steps(wf.steps):
        places += [(f"step {step.name!r} config", step.config),
                   (f"step {step.name!r} params", step.params)]
    for where, data in places:
        key = _secret_key(data)
        if key is not None:
            raise PackageError(f"cannot package workflow {wf.name!r}: {where} {key!r} holds a "
                               "resolved SecretValue; put a reference there instead "
                               "(secret:env:NAME or secret:file:NAME), resolved when the step "
                               "runs")


def _secret_key(data: Any, path: str = "") -> str | None:
    if isinstance(data, SecretValue):
        return path or "(value)"
    if isinstance(data, Mapping):
        for key, value in data.items():
            found = _secret_key(value, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            found = _secret_key(value, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _refuse_known_secrets(files: Mapping[str, bytes]) -> None:
    """No file may hold a value the masker knows (a secret resolved in this process)."""
    values = [v.encode("utf-8") for v in masking.known_values()]
    holding = sorted(name for name, data in files.items() if any(v in data for v in values))
    if holding:
        raise PackageSecretError(holding)
