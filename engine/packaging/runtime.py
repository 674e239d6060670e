"""Running a workflow archive: what its ``__main__.py`` calls (``python NAME.pyz [options]``).

The archive is verified first (a changed one never runs), its required distributions are
checked, its modules imported (the archive's own first on ``sys.path``; a package it carries
also reaches that package's installed modules), the definition built, and the run started
through ``engine.start_run`` like every other front end, recorded in the run store
(``--db``, else ``$SPINE_DB``, else ``$SPINE_HOME/spine.db``) with ``started_by="package"``:
a run from an archive is its own kind of starter, like a schedule or a trigger, so ``runs``
and the workbench tell it apart from an ad-hoc script. Exit status as ``spine-engine run``:
0 completed or skipped, 1 the workflow failed, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.machinery
import importlib.metadata
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from .. import registry
from ..discovery import discover
from ..errors import UnknownPipelineError, UnknownWorkflowError, WorkflowCycleError, WorkflowError
from ..managed import ManagedWorkflow, format_result
from ..params import parse_params
from ..results import RunStatus, WorkflowResult
from ..secrets.masking import mask, mask_data
from ..serialization import to_json
from ..spec import WorkflowSpec
from ..start import start_run
from ..store.schema import StoreError
from ..workflow import Workflow
from .archive import read_manifest, read_member
from .errors import PackageError
from .loading import loading
from .manifest import PackageManifest

STARTED_BY = "package"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
_EXIT = {RunStatus.COMPLETED: EXIT_OK, RunStatus.SKIPPED: EXIT_OK,
         RunStatus.CANCELLED: EXIT_INTERRUPTED}


class _BadInput(Exception):
    """A problem the user can fix: printed as ``error:`` plus a hint, exit 2."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def main(archive: str | os.PathLike[str], argv: Sequence[str] | None = None, *,
         out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the archive at ``archive`` with command-line ``argv``; returns the exit status."""
    out, err = out or sys.stdout, err or sys.stderr
    path = Path(archive)
    try:
        manifest = read_manifest(path)
        args = _parse(path, manifest, list(sys.argv[1:] if argv is None else argv))
        if args.manifest:
            out.write(to_json(manifest.to_dict(), indent=2) + "\n")
            return EXIT_OK
        # with --json, what the workflow's code prints goes to stderr: stdout stays parseable
        quiet = contextlib.redirect_stdout(err) if args.json else contextlib.nullcontext()
        with quiet:
            return _run(path, manifest, args, out)
    except SystemExit as exc:  # --help (0) and usage errors (2) from argparse
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except _BadInput as exc:
        _error(err, exc.message, exc.hint)
    except PackageError as exc:
        _error(err, str(exc))
    except StoreError as exc:
        _error(err, str(exc), "pass another run-store file with --db PATH")
    except KeyboardInterrupt:
        _error(err, "interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # anything unexpected still gets one line, not a traceback
        if os.environ.get("SPINE_DEBUG", "").strip() not in ("", "0", "false", "no"):
            traceback.print_exc(file=err)
        _error(err, f"{type(exc).__name__}: {exc}",
               "this looks like a bug; set SPINE_DEBUG=1 to see the traceback")
    return EXIT_USAGE


def _parse(path: Path, manifest: PackageManifest, argv: list[str]) -> argparse.Namespace:
    steps = _steps(manifest.step_count)
    parser = argparse.ArgumentParser(
        prog=f"python {path.name}",
        description=f"Run the packaged workflow {manifest.workflow_name} "
                    f"v{manifest.workflow_version} ({steps}), recorded in the run store. "
                    "Exit status: 0 completed, 1 failed, 2 bad input, 130 interrupted.")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a run param, repeatable; typed like YAML (n=3, dry=true)")
    parser.add_argument("--db", metavar="PATH",
                        help="the run-store file (default: $SPINE_DB, else "
                             "$SPINE_HOME/spine.db, else ~/.spine/spine.db)")
    parser.add_argument("--paths", nargs="+", default=[], metavar="P",
                        help="workflow files or folders to load first: they register the "
                             "pipelines and sub-workflows the archive does not carry")
    parser.add_argument("--json", action="store_true",
                        help="print the result as JSON instead of the summary")
    parser.add_argument("--manifest", action="store_true",
                        help="print the archive's manifest as JSON and exit without running")
    return parser.parse_args(argv)


def _run(path: Path, manifest: PackageManifest, args: argparse.Namespace, out: TextIO) -> int:
    _check_requirements(manifest)
    try:
        params = parse_params(args.param)
    except ValueError as exc:
        raise _BadInput(str(exc), "use --param key=value") from None
    if args.db:  # engine objects that find the store themselves (breakers, DLQ) use it too
        os.environ["SPINE_DB"] = str(Path(args.db).expanduser().absolute())
    if args.paths:
        errors = discover(args.paths).errors
        if errors:
            raise _BadInput("; ".join(str(e) for e in errors), "fix the files given by --paths")
    workflow = load_workflow(path, manifest)
    pipelines, workflows = registry.missing_references(workflow)
    if pipelines or workflows:
        missing = ", ".join([*(f"pipeline {p!r}" for p in pipelines),
                             *(f"sub-workflow {w!r}" for w in workflows)])
        raise _BadInput(f"workflow {workflow.name!r} needs {missing}, which nothing registered",
                        f"load the modules that register them: python {path.name} --paths DIR")
    try:
        handle = start_run(workflow, params, db=args.db, started_by=STARTED_BY)
        if not args.json:
            out.write(f"run {handle.run_id}  {workflow.name} ({_steps(len(workflow.steps))})\n")
            out.flush()
        result = _wait(handle)
    except (UnknownPipelineError, UnknownWorkflowError, WorkflowCycleError) as exc:
        raise _BadInput(str(exc), f"python {path.name} --paths DIR loads modules that "
                        "register pipelines and sub-workflows") from None
    except WorkflowError as exc:  # refused when the run starts: the definition is at fault
        raise _BadInput(str(exc)) from None
    # the result in memory holds what steps returned; what is printed is masked like the store
    out.write(to_json(mask_data(result.to_dict()), indent=2) + "\n" if args.json
              else format_result(workflow, result) + "\n")
    return _EXIT.get(result.status, EXIT_FAILED)


def _wait(handle: Any) -> WorkflowResult:
    try:
        result: WorkflowResult = handle.wait()
    except KeyboardInterrupt:
        handle.cancel()
        result = handle.wait()
    return result


def load_workflow(path: Path, manifest: PackageManifest) -> Workflow:
    """Import the archive's modules and build its workflow (registered, for sub-workflows)."""
    with loading(path, manifest):
        _reach_installed_packages(path, manifest)
        modules = [_import(name) for name in manifest.modules]
        try:
            for module in modules:
                _register_workflows(module)
            if manifest.definition == "yaml":
                text = read_member(path, manifest.entry)
                workflow = WorkflowSpec.from_yaml(text, source=f"{path}/{manifest.entry}") \
                    .to_workflow()
            else:
                workflow = _from_module(_import(manifest.entry), manifest.workflow_name)
            registry.register_workflow(workflow)
        except WorkflowError as exc:
            raise _BadInput(f"cannot build workflow {manifest.workflow_name!r} from "
                            f"{path.name}: {exc}") from None
    return workflow


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as exc:  # a user module can fail to import with any exception
        raise _BadInput(f"cannot import module {name!r} of the archive: "
                        f"{type(exc).__name__}: {exc}",
                        "install what it needs (python ARCHIVE --manifest lists the "
                        "requirements)") from None


def _register_workflows(module: ModuleType) -> None:
    """Module-level workflows become runnable as sub-workflows, as discovery makes them."""
    for value in list(vars(module).values()):
        if isinstance(value, Workflow | ManagedWorkflow) and \
                value.name not in registry.list_workflows():
            registry.register_workflow(value)


def _from_module(module: ModuleType, name: str) -> Workflow:
    for value in list(vars(module).values()):
        if isinstance(value, Workflow) and value.name == name:
            return value
        if isinstance(value, ManagedWorkflow) and value.name == name:
            return value.workflow
    if name in registry.list_workflows():
        return registry.get_workflow(name)
    raise _BadInput(f"module {module.__name__!r} of the archive defines no workflow {name!r}")


def _check_requirements(manifest: PackageManifest) -> None:
    """Every required distribution is installed (another version is fine: code is source)."""
    missing = []
    for requirement in manifest.requirements:
        name = requirement.partition("==")[0]
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement)
    if missing:
        raise _BadInput(f"this archive needs {', '.join(missing)}, not installed here",
                        "pip install " + " ".join(repr(m) for m in missing))


def _reach_installed_packages(path: Path, manifest: PackageManifest) -> None:
    """A package the archive carries part of also finds its other, installed modules: the
    installed locations go after the archive's on the package's ``__path__``."""
    archive = str(path.resolve())
    packages = sorted({f[: -len("/__init__.py")].replace("/", ".")
                       for f in manifest.handler_files if f.endswith("/__init__.py")},
                      key=lambda n: n.count("."))
    installed: dict[str, list[str]] = {}
    for name in packages:
        parent = name.rpartition(".")[0]
        search = installed.get(parent, []) if parent else [
            p for p in sys.path if not _inside(p, archive)]
        if parent and not search:
            continue
        locations = _locations(name, search, archive)
        if not locations:
            continue
        installed[name] = locations
        module = _import(name)
        package_path = getattr(module, "__path__", None)
        if package_path is not None:
            package_path.extend(loc for loc in locations if loc not in package_path)


def _locations(name: str, search: list[str], archive: str) -> list[str]:
    """Where the import system finds package ``name`` outside the archive."""
    found: list[str] = []
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        try:
            spec = find_spec(name, search if finder is importlib.machinery.PathFinder
                             or "." in name else None)
        except Exception:  # a third-party finder that cannot answer: ask the next one
            continue
        for loc in (spec.submodule_search_locations or []) if spec is not None else []:
            if not _inside(loc, archive) and loc not in found:
                found.append(loc)
    return found


def _inside(location: str, archive: str) -> bool:
    try:
        resolved = str(Path(location or ".").resolve())
    except OSError:
        return False
    return resolved == archive or resolved.startswith(archive + os.sep)


def _steps(count: int) -> str:
    return f"{count} step{'' if count == 1 else 's'}"


def _error(err: TextIO, message: str, hint: str = "") -> None:
    err.write(f"error: {mask(message)}\n" + (f"hint: {hint}\n" if hint else ""))
    err.flush()
