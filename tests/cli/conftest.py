"""Shared fixtures for the ``spine-engine`` tests: fixture folders, a clean registry, runners."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine import registry
from spine_tui.engine_cli import main

RESOURCES = Path(__file__).resolve().parent.parent / "resources" / "cli"
SYNTAX_ERROR = "from engine import Step\n\ndef broken(:\n    pass\n"  # line 3
GOOD = ("from engine import Step, Workflow\n\n"
        "ok = Workflow('cli.tmp_good', steps=[Step.wait('nap', 0)])\n")


@dataclass
class Outcome:
    """Exit status and captured output of one ``spine-engine`` invocation."""

    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own run store (``SPINE_DB``) and home: nothing touches ~/.spine."""
    path = tmp_path / "store" / "spine.db"
    monkeypatch.setenv("SPINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SPINE_DB", str(path))
    return path


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    """Workflows and pipelines registered by fixture files must not leak into other tests."""
    workflows, pipelines = set(registry.list_workflows()), set(registry.list_pipelines())
    yield
    for name in set(registry.list_workflows()) - workflows:
        registry.unregister_workflow(name)
    for name in set(registry.list_pipelines()) - pipelines:
        registry.unregister_pipeline(name)


@pytest.fixture
def resources(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work inside the fixture folder so commands take short relative paths."""
    monkeypatch.chdir(RESOURCES)
    monkeypatch.delenv("SPINE_DEBUG", raising=False)
    return RESOURCES


@pytest.fixture
def broken_dir(tmp_path: Path) -> Path:
    """A folder with one good workflow and one file with a syntax error on line 3.

    Written at test time so the repository itself stays ruff-clean.
    """
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "cli_tmp_good.py").write_text(GOOD)
    (folder / "cli_syntax.py").write_text(SYNTAX_ERROR)
    return folder


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], resources: Path) -> Callable[..., Outcome]:
    """Call ``main(argv)`` in-process and return its exit status and output."""

    def invoke(*argv: str) -> Outcome:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def run_module() -> Callable[..., Outcome]:
    """Run ``python -m spine_tui.engine_cli`` (or another command) in a real subprocess,
    with ``stdin`` as its standard input (empty by default: never the test's terminal)."""

    def invoke(*argv: str, cwd: Path = RESOURCES, env: dict[str, str] | None = None,
               command: list[str] | None = None, stdin: str | None = None) -> Outcome:
        proc = subprocess.run([*(command or [sys.executable, "-m", "spine_tui.engine_cli"]),
                               *argv], cwd=cwd, capture_output=True, text=True, timeout=60,
                              input=stdin if stdin is not None else "",
                              env={**os.environ, "SPINE_DEBUG": "", **(env or {})})
        return Outcome(proc.returncode, proc.stdout, proc.stderr)

    return invoke


@pytest.fixture
def spec_yaml() -> object:
    """Skip YAML tests until ``engine.spec`` exists."""
    return pytest.importorskip("engine.spec")
