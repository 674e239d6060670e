"""Finding workflows on disk: import ``.py`` modules and load ``.yaml`` specs from paths.

A ``.py`` file contributes its module-level ``Workflow``/``ManagedWorkflow`` objects and any
workflow it registers while importing. Python files load before YAML files in the same call,
so a folder's modules can register the pipelines its YAML workflows name. Every file that
fails to load becomes a ``LoadError`` (file, line, message) instead of an exception, so one
broken file never hides the others. Loading again re-executes the module: that is how hot
reload picks up edits.

Event triggers come from the same files: module-level ``EventTrigger`` objects of a ``.py``
file, ``spec.triggers`` of a YAML file. A trigger rides on the ``DiscoveredWorkflow`` it
starts, so it is declared in that workflow's file (a trigger for a workflow defined elsewhere
is a load error) and a hot reload of the file replaces both; ``Catalog.triggers`` lists them.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import registry
from .errors import WorkflowError, WorkflowSpecError
from .managed import ManagedWorkflow
from .sources import SourceRef
from .triggers.trigger import EventTrigger
from .workflow import Workflow

PYTHON_SUFFIXES = (".py",)
YAML_SUFFIXES = (".yaml", ".yml")
_SKIP_DIRS = {"data", "__pycache__", "node_modules"}


@dataclass(frozen=True, slots=True)
class LoadError:
    """A file that could not be loaded, with where and why."""

    path: str
    message: str
    line: int | None = None
    error_type: str = "Error"

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass(frozen=True, slots=True)
class DiscoveredWorkflow:
    """A workflow plus where it came from (file path, or ``registry`` for registered ones)."""

    workflow: Workflow
    source: str
    kind: str  # "python" | "yaml" | "registry"
    managed: Any = None  # the ManagedWorkflow wrapper, when the module defined one
    triggers: tuple[EventTrigger, ...] = ()  # the event triggers its file declares for it

    @property
    def name(self) -> str:
        return self.workflow.name

    @property
    def source_ref(self) -> SourceRef:
        """What a run of it records so ``resume`` can rebuild it: its file, else its name."""
        if self.kind == "registry" or not Path(self.source).is_file():
            return SourceRef.registry(self.name)
        return SourceRef.file(self.source)


@dataclass(frozen=True, slots=True)
class Catalog:
    """Everything found in a set of paths; lookups by workflow name."""

    workflows: tuple[DiscoveredWorkflow, ...] = ()
    errors: tuple[LoadError, ...] = ()
    paths: tuple[str, ...] = field(default_factory=tuple)

    def names(self) -> list[str]:
        return [w.name for w in self.workflows]

    def get(self, name: str) -> DiscoveredWorkflow | None:
        return next((w for w in self.workflows if w.name == name), None)

    @property
    def triggers(self) -> tuple[EventTrigger, ...]:
        """The event triggers declared beside the catalog's workflows, in catalog order."""
        return tuple(t for w in self.workflows for t in w.triggers)

    def __len__(self) -> int:
        return len(self.workflows)


def default_paths() -> list[Path]:
    """``./workflows`` when it exists, else nothing: front ends add their own fallback (the
    CLI and the TUI fall back to the bundled samples)."""
    local = Path.cwd() / "workflows"
    return [local] if local.is_dir() else []


def discover(paths: Iterable[str | Path] | None = None) -> Catalog:
    """Load every workflow file under ``paths`` (files or folders; default: ``default_paths``)."""
    roots = [Path(p) for p in (paths if paths is not None else default_paths())]
    py_files: list[Path] = []
    yaml_files: list[Path] = []
    errors: list[LoadError] = []
    for root in roots:
        if not root.exists():
            errors.append(LoadError(str(root), "no such file or directory", None,
                                    "FileNotFoundError"))
            continue
        for file in _workflow_files(root):
            (py_files if file.suffix in PYTHON_SUFFIXES else yaml_files).append(file)

    found: list[DiscoveredWorkflow] = []
    for file in [*py_files, *yaml_files]:
        workflows, file_errors = load_file(file)
        found.extend(workflows)
        errors.extend(file_errors)

    unique: dict[str, DiscoveredWorkflow] = {}
    for item in found:
        first = unique.get(item.name)
        if first is None:
            unique[item.name] = item
        elif first.workflow is not item.workflow:
            errors.append(LoadError(
                item.source, f"workflow name {item.name!r} is already defined in "
                f"{first.source}; rename one of them", None, "DuplicateWorkflowError"))
    workflows = _unique_triggers(list(unique.values()), errors)
    return Catalog(tuple(workflows), tuple(errors), tuple(str(r) for r in roots))


def _unique_triggers(items: list[DiscoveredWorkflow],
                     errors: list[LoadError]) -> list[DiscoveredWorkflow]:
    """``items`` with each trigger name kept once (the first); later ones become errors."""
    where: dict[str, str] = {}
    kept_items = []
    for item in items:
        kept = []
        for trigger in item.triggers:
            if trigger.name in where:
                errors.append(LoadError(item.source, f"trigger name {trigger.name!r} is "
                                        f"already declared in {where[trigger.name]}; rename "
                                        "one of them", None, "DuplicateTriggerError"))
            else:
                where[trigger.name] = item.source
                kept.append(trigger)
        changed = len(kept) != len(item.triggers)
        kept_items.append(dataclasses.replace(item, triggers=tuple(kept)) if changed else item)
    return kept_items


def load_file(path: str | Path) -> tuple[list[DiscoveredWorkflow], list[LoadError]]:
    """Load one ``.py`` or ``.yaml`` file; never raises for problems inside the file."""
    file = Path(path)
    if file.suffix in PYTHON_SUFFIXES:
        return _load_python(file)
    if file.suffix in YAML_SUFFIXES:
        return _load_yaml(file)
    return [], [LoadError(str(file), "not a workflow file (expected .py, .yaml or .yml)",
                          None, "UnsupportedFileError")]


def _workflow_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    files: list[Path] = []
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root).parts
        if any(part.startswith((".", "_")) or part in _SKIP_DIRS for part in rel[:-1]):
            continue
        name = file.name
        if name.startswith(("_", ".")) or name == "conftest.py" or not file.is_file():
            continue
        if file.suffix in PYTHON_SUFFIXES or file.suffix in YAML_SUFFIXES:
            files.append(file)
    return files


def _module_name(file: Path) -> tuple[str, Path]:
    """Dotted module name for ``file`` and the folder that must be on ``sys.path`` for it.

    Files inside packages keep their package name, so ``module:qualname`` handler
    references (used by YAML export) import back to the same function.
    """
    file = file.resolve()
    parts = [file.stem]
    folder = file.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts), folder


def _load_python(file: Path) -> tuple[list[DiscoveredWorkflow], list[LoadError]]:
    name, root = _module_name(file)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    before = {n: registry.get_workflow(n) for n in registry.list_workflows()}
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        return [], [LoadError(str(file), "cannot be imported as a Python module")]
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # any import-time failure is reported, not raised
        if previous is not None:
            sys.modules[name] = previous
        else:
            sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        return [], [_python_error(file, exc)]

    found: dict[int, DiscoveredWorkflow] = {}
    for value in list(vars(module).values()):
        item = _as_discovered(value, str(file))
        if item is not None:
            found.setdefault(id(item.workflow), item)
    for wf_name in registry.list_workflows():
        wf = registry.get_workflow(wf_name)
        if before.get(wf_name) is not wf and id(wf) not in found:
            found[id(wf)] = DiscoveredWorkflow(wf, str(file), "python")
    errors: list[LoadError] = []
    for item in found.values():
        try:
            registry.register_workflow(item.workflow)
        except WorkflowError as exc:
            errors.append(LoadError(str(file), str(exc), None, type(exc).__name__))
    triggers = [v for v in vars(module).values() if isinstance(v, EventTrigger)]
    return _with_triggers(list(found.values()), triggers, file, errors), errors


def _with_triggers(items: list[DiscoveredWorkflow], triggers: list[EventTrigger], file: Path,
                   errors: list[LoadError]) -> list[DiscoveredWorkflow]:
    """Each workflow of a file with the file's triggers that start it; a trigger naming a
    workflow the file does not define is an error."""
    names = {item.name for item in items}
    for trigger in triggers:
        if trigger.workflow_name not in names:
            defined = ", ".join(sorted(names)) or "none"
            errors.append(LoadError(str(file), f"trigger {trigger.name!r} starts workflow "
                                    f"{trigger.workflow_name!r}, which this file does not "
                                    f"define (it defines: {defined}); declare a trigger in the "
                                    "file of its workflow", None, "TriggerWorkflowError"))
    if not triggers:
        return items
    return [dataclasses.replace(item, triggers=tuple(t for t in triggers
                                                     if t.workflow_name == item.name))
            for item in items]


def _as_discovered(value: Any, source: str) -> DiscoveredWorkflow | None:
    if isinstance(value, Workflow):
        return DiscoveredWorkflow(value, source, "python")
    if isinstance(value, type):
        return None
    if isinstance(value, ManagedWorkflow):
        try:
            return DiscoveredWorkflow(value.workflow, source, "python", managed=value)
        except WorkflowError:
            return None
    return None


def _python_error(file: Path, exc: BaseException) -> LoadError:
    line: int | None = None
    if isinstance(exc, SyntaxError) and exc.lineno:
        line = exc.lineno
        message = f"{exc.msg} (line {exc.lineno})"
    else:
        frames = traceback.extract_tb(exc.__traceback__)
        mine = [f for f in frames if Path(f.filename).resolve() == file.resolve()]
        if mine:
            line = mine[-1].lineno
        text = str(exc)
        message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return LoadError(str(file), message, line, type(exc).__name__)


def _load_yaml(file: Path) -> tuple[list[DiscoveredWorkflow], list[LoadError]]:
    try:
        # deliberate lazy load, not a cycle: the pydantic models cost ~0.1 s to build, paid
        # on the first YAML file instead of by every ``import engine``
        from .spec import WorkflowSpec  # deliberate lazy load (see above)

        spec = WorkflowSpec.from_file(file)
        workflow = spec.to_workflow()
        triggers = tuple(spec.to_triggers())
    except WorkflowSpecError as exc:
        return [], [LoadError(str(file), exc.detail, exc.line, type(exc).__name__)]
    except (WorkflowError, OSError, ValueError, ImportError) as exc:
        return [], [LoadError(str(file), str(exc), None, type(exc).__name__)]
    try:
        registry.register_workflow(workflow)
    except WorkflowError as exc:
        return [], [LoadError(str(file), str(exc), None, type(exc).__name__)]
    return [DiscoveredWorkflow(workflow, str(file), "yaml", triggers=triggers)], []


def resolve_workflow(target: str, paths: Iterable[str | Path] | None = None) -> DiscoveredWorkflow:
    """A workflow by file path, by name in ``paths``, or by registered name.

    Raises ``LookupError`` with the load errors of the file, or the known names.
    """
    candidate = Path(target)
    if candidate.is_file():
        if candidate.suffix in YAML_SUFFIXES:
            _load_sibling_modules(candidate)
        workflows, errors = load_file(candidate)
        if errors:
            raise LookupError("; ".join(str(e) for e in errors))
        if not workflows:
            raise LookupError(f"{target} defines no workflow (no module-level Workflow or "
                              "ManagedWorkflow, none registered)")
        if len(workflows) > 1:
            names = ", ".join(w.name for w in workflows)
            raise LookupError(f"{target} defines several workflows ({names}); "
                              "pass one of those names instead of the file")
        return workflows[0]
    looks_like_file = candidate.suffix in (*PYTHON_SUFFIXES, *YAML_SUFFIXES) or "/" in target
    catalog = discover(paths)
    item = catalog.get(target)
    if item is not None:
        return item
    if target in registry.list_workflows():
        return DiscoveredWorkflow(registry.get_workflow(target), "registry", "registry")
    import difflib

    if looks_like_file:
        raise LookupError(f"no such file: {target} (and no workflow has that name)")
    close = difflib.get_close_matches(target, catalog.names(), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise LookupError(f"no workflow named {target!r} in {', '.join(catalog.paths)}{hint} "
                      "(run `spine-engine list` to see them)")


def _load_sibling_modules(yaml_file: Path) -> None:
    """Import the ``.py`` files next to a YAML workflow: they register the pipelines it names.

    Their own load errors are not the YAML's; a missing pipeline still surfaces clearly
    when the workflow is validated or run.
    """
    for file in _workflow_files(yaml_file.parent):
        if file.suffix in PYTHON_SUFFIXES and file.parent == yaml_file.parent:
            _load_python(file)
