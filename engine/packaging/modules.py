"""Which code a workflow archive carries, and which it requires where it runs.

The archive carries the workflow's handler modules (the modules of its step handlers,
``skip_if``/``on_failure`` functions and registered pipeline handlers, of its registered
sub-workflows too, and the module that defines it) and the user's own modules they import,
found the way the playground finds what to reload (``engine.playground.fresh_load``). Code
that comes from an installed distribution is required instead of copied, by ``name==version``
(``importlib.metadata.packages_distributions``): the engine's own distribution always,
third-party imports of the carried modules, and installed handler modules. A handler module
is carried even when a required distribution also provides it, so the archive runs the code
that was packaged; its package's other modules still come from the installed distribution.

A workflow built in a script run as ``__main__`` has its handlers in ``__main__``: the script
is carried under its own module name (``a4.py`` → ``a4``), with a warning when its top level
does more than define things, since the archive imports it and so runs that code again.
"""

from __future__ import annotations

import ast
import importlib.metadata
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .. import registry
from ..discovery import _module_name
from ..expressions import Expression
from ..managed import ManagedWorkflow
from ..playground.fresh_load import _imported, _is_local, _local_closure
from ..steps import Step, StepType, callable_ref
from ..workflow import Workflow
from .errors import PackageError

MAIN = "__main__"
_ENGINE = "engine"
_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                ast.Assign, ast.AnnAssign, ast.AugAssign)


@dataclass(frozen=True, slots=True)
class CarriedFile:
    """One source file in the archive: its module name there, archive path and bytes."""

    module: str
    path: str
    source: bytes


@dataclass
class ModulePlan:
    """What packaging one workflow decided about code (see the module docstring)."""

    files: dict[str, CarriedFile] = field(default_factory=dict)  # by archive path
    imports: list[str] = field(default_factory=list)  # imported before the definition is built
    entry: str | None = None  # the module whose top level defines the workflow
    requirements: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # "__main__" -> its module name
    project: str = "spine-tui"  # the engine's distribution, pinned, for install hints


def plan_modules(workflow: Workflow, *, source: Path | None = None,
                 roots: Iterable[str | Path] = ()) -> ModulePlan:
    """Decide which modules ``workflow``'s archive carries, imports and requires.

    ``source`` is the file the workflow was loaded from (when known); ``roots`` are more
    folders whose modules count as the user's own (the CLI's ``--paths``).
    """
    plan = ModulePlan()
    handler_modules = _handler_modules(workflow, plan.warnings)
    entry = _defining_module(workflow, source, handler_modules)
    order = ([entry.__name__] if entry is not None else []) + handler_modules
    carried: list[ModuleType] = []
    installed: list[str] = []
    for name in dict.fromkeys(order):
        module = sys.modules.get(name)
        if name == _ENGINE or name.startswith(_ENGINE + "."):
            continue
        if module is None:
            plan.warnings.append(f"module {name!r} is not loaded in this process, so it is not "
                                 "carried; it must be importable where the archive runs")
            continue
        if name == MAIN and not _carriable(module):
            raise PackageError(
                f"workflow {workflow.name!r} has handlers in __main__ without a source file (an "
                "interactive session or python -c); define them in a .py file to package them")
        if _carriable(module):
            carried.append(module)
            plan.imports.append(_carry(plan, module))
        else:
            installed.append(name)
            plan.imports.append(name)
    if entry is not None:
        plan.entry = plan.renamed.get(entry.__name__, entry.__name__)
    dists = _distributions()
    required = _project(dists, plan.warnings)
    folders = [Path(m.__file__).resolve().parent for m in carried if m.__file__]
    folders += [Path(r).resolve() for r in roots]
    # not under hot reload's LOAD_LOCK: a file loading under it may package itself (A4)
    for name in _local_closure(carried, tuple(dict.fromkeys(folders))):
        module = sys.modules.get(name)
        if module is None or name in plan.renamed or _carried(plan, name):
            continue
        top = name.partition(".")[0]
        if top in dists:
            required.extend(dists[top])
        elif _carriable(module):
            _carry(plan, module)
    _carry_packages(plan)
    required += _imported_distributions(plan, dists, installed)
    plan.requirements = [_pin(d) for d in dict.fromkeys(required)]
    plan.project = plan.requirements[0] if dists.get(_ENGINE) else plan.project
    return plan


# ------------------------------------------------------------------ what the workflow runs
def _handler_modules(workflow: Workflow, warnings: list[str]) -> list[str]:
    """Modules of every function the workflow (and its registered sub-workflows) calls."""
    names: list[str] = []
    seen = {workflow.name}
    todo = [workflow]
    while todo:
        current = todo.pop(0)
        for step in walk_steps(current.steps):
            for fn in _functions(step):
                names.append(callable_ref(fn).partition(":")[0])
            if step.step_type is StepType.PIPELINE and step.pipeline_name:
                if step.pipeline_name in registry.list_pipelines():
                    handler = registry.get_pipeline(step.pipeline_name)
                    names.append(callable_ref(handler).partition(":")[0])
                else:
                    warnings.append(
                        f"step {step.name!r}: pipeline {step.pipeline_name!r} is not registered "
                        "here, so the archive does not carry it; register it where the archive "
                        "runs (python ARCHIVE --paths DIR loads modules that do)")
            child = step.workflow_name if step.step_type is StepType.WORKFLOW else None
            if child and child not in seen:
                seen.add(child)
                if child in registry.list_workflows():
                    sub = registry.get_workflow(child)
                    todo.append(sub)
                    defining = _defining_module(sub, None, names)
                    if defining is not None:
                        names.append(defining.__name__)
                else:
                    warnings.append(
                        f"step {step.name!r}: sub-workflow {child!r} is not registered here, so "
                        "the archive does not carry it; it must be registered where it runs")
    return list(dict.fromkeys(n for n in names if n and n != "?"))


def walk_steps(steps: Iterable[Step]) -> Iterator[Step]:
    """Every step, a map's inner steps right after their map."""
    for step in steps:
        yield step
        yield from walk_steps(step.iterator_steps)


def _functions(step: Step) -> Iterator[Any]:
    if step.handler is not None:
        yield step.handler
    if step.skip_if is not None and not isinstance(step.skip_if, Expression | str):
        yield step.skip_if
    if step.on_failure is not None:
        yield step.on_failure


def _defining_module(workflow: Workflow, source: Path | None,
                     candidates: Iterable[str]) -> ModuleType | None:
    """The module whose top level holds ``workflow`` (by name): its source file's module, the
    running script, or one of the handler modules."""
    names: list[str] = []
    if source is not None and source.suffix == ".py":
        names.append(_module_name(source)[0])
    names += [MAIN, *candidates]
    for name in dict.fromkeys(names):
        module = sys.modules.get(name)
        if module is not None and _defines(module, workflow.name):
            return module
    return None


def _defines(module: ModuleType, name: str) -> bool:
    for value in list(vars(module).values()):
        if isinstance(value, Workflow | ManagedWorkflow) and value.name == name:
            return True
    return False


# ------------------------------------------------------------------ carrying files
def _carriable(module: ModuleType) -> bool:
    """A module with a ``.py`` file that is not installed, the standard library or the engine."""
    file = getattr(module, "__file__", None)
    if not file or not file.endswith(".py"):
        return False
    if module.__name__ == MAIN:
        return True
    return _is_local(module, (Path(file).resolve().parent,))


def _carry(plan: ModulePlan, module: ModuleType) -> str:
    """Add ``module``'s file to the archive; the name it has there."""
    file = Path(str(module.__file__))
    name = module.__name__
    if name == MAIN:
        name = _script_name(module, file)
        plan.renamed[MAIN] = name
        plan.warnings.extend(_top_level_code(file, name))
    path = name.replace(".", "/") + ("/__init__.py" if file.name == "__init__.py" else ".py")
    plan.files[path] = CarriedFile(name, path, _read(file))
    return name


def _carried(plan: ModulePlan, name: str) -> bool:
    return any(f.module == name for f in plan.files.values())


def _carry_packages(plan: ModulePlan) -> None:
    """The ``__init__.py`` of every package a carried module sits in, so it imports there."""
    for carried in list(plan.files.values()):
        parts = carried.module.split(".")
        for depth in range(1, len(parts)):
            package = ".".join(parts[:depth])
            path = package.replace(".", "/") + "/__init__.py"
            file = getattr(sys.modules.get(package), "__file__", None)
            if path not in plan.files and file and file.endswith("__init__.py"):
                plan.files[path] = CarriedFile(package, path, _read(Path(file)))


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise PackageError(f"cannot read {file} to package it: {exc.strerror or exc}") from None


def _script_name(module: ModuleType, file: Path) -> str:
    """The module name of a script run as ``__main__`` (``python -m pkg.mod`` keeps its name)."""
    spec = getattr(module, "__spec__", None)
    name = getattr(spec, "name", None)
    if name and name != MAIN:
        return str(name)
    return _module_name(file)[0]


def _top_level_code(file: Path, name: str) -> list[str]:
    """A warning when a script does more at its top level than import and define things."""
    try:
        tree = ast.parse(file.read_bytes(), str(file))
    except (OSError, SyntaxError, ValueError):
        return []
    for index, node in enumerate(tree.body):
        docstring = index == 0 and isinstance(node, ast.Expr) and isinstance(
            node.value, ast.Constant) and isinstance(node.value.value, str)
        if docstring or isinstance(node, _DEFINITIONS) or _is_main_guard(node):
            continue
        return [f"{file.name} ran as a script: the archive imports it as module {name!r}, "
                f"which runs its top-level code again (from line {node.lineno}) before the "
                "workflow starts; keep such code under `if __name__ == \"__main__\":`"]
    return []


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    names = [node.test.left, *node.test.comparators]
    return any(isinstance(n, ast.Name) and n.id == "__name__" for n in names)


# ------------------------------------------------------------------ requirements
def _distributions() -> dict[str, list[str]]:
    """Top-level import name -> the installed distributions providing it (deduplicated)."""
    return {top: list(dict.fromkeys(names))
            for top, names in importlib.metadata.packages_distributions().items()}


def _project(dists: dict[str, list[str]], warnings: list[str]) -> list[str]:
    """The distribution that provides the engine: every archive needs it where it runs."""
    project = dists.get(_ENGINE, [])
    if not project:
        warnings.append("the engine is not installed as a distribution here, so the manifest "
                        "cannot name it; the archive runs where spine-tui is installed")
    return list(project)


def _imported_distributions(plan: ModulePlan, dists: dict[str, list[str]],
                            installed: list[str]) -> list[str]:
    """Distributions of the carried modules' imports and of installed handler modules."""
    carried_tops = {f.module.partition(".")[0] for f in plan.files.values()}
    tops: list[str] = [name.partition(".")[0] for name in installed]
    for carried in plan.files.values():
        main = plan.renamed.get(MAIN) == carried.module
        module = sys.modules.get(MAIN if main else carried.module)
        if module is not None:
            tops += [n.partition(".")[0] for n in _imported(module)]
    required: list[str] = []
    for top in dict.fromkeys(tops):
        if top in sys.stdlib_module_names or top in ("__future__", MAIN):
            continue
        if top in dists:
            required.extend(dists[top])
        elif top not in carried_tops and top != _ENGINE and _is_elsewhere(top):
            plan.warnings.append(f"module {top!r} is imported by the packaged code but is "
                                 "neither carried nor from an installed distribution; it must "
                                 "be importable where the archive runs")
    return required


def _is_elsewhere(top: str) -> bool:
    """A loaded top-level module with a file of its own (not a built-in)."""
    return bool(getattr(sys.modules.get(top), "__file__", None))


def _pin(distribution: str) -> str:
    try:
        return f"{distribution}=={importlib.metadata.version(distribution)}"
    except importlib.metadata.PackageNotFoundError:
        return distribution
