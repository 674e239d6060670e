"""Discovery loads workflows from files, reports broken files in place, and reloads edits."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine import registry
from engine.discovery import discover, load_file
from engine.discovery import resolve_workflow as resolve

pytestmark = pytest.mark.usefixtures("clean_registry")

GOOD = '''
from engine import ManagedWorkflow, Step, StepResult, Workflow

def one(ctx, config):
    return StepResult.ok(output={"n": 1})

flow = Workflow("disc.good", steps=[Step.lambda_("one", one)], tags=["t"])
managed = ManagedWorkflow("disc.managed").step("a", lambda: {"a": 1}).build()
'''


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_module_level_workflows_and_managed_workflows_are_found(tmp_path: Path) -> None:
    write(tmp_path, "flows.py", GOOD)
    catalog = discover([tmp_path])
    assert sorted(catalog.names()) == ["disc.good", "disc.managed"]
    assert catalog.errors == ()
    assert catalog.get("disc.managed").managed is not None
    assert "disc.good" in registry.list_workflows()


def test_broken_file_is_reported_with_line_and_does_not_hide_others(tmp_path: Path) -> None:
    write(tmp_path, "flows.py", GOOD)
    write(tmp_path, "broken.py", "x = 1\ndef oops(:\n    pass\n")
    write(tmp_path, "raises.py", "import os\n\nraise RuntimeError('boom at import')\n")
    catalog = discover([tmp_path])
    assert "disc.good" in catalog.names()
    by_file = {Path(e.path).name: e for e in catalog.errors}
    assert by_file["broken.py"].line == 2
    assert by_file["broken.py"].error_type == "SyntaxError"
    assert by_file["raises.py"].line == 3
    assert "boom at import" in by_file["raises.py"].message


def test_private_files_and_data_folders_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "_helpers.py", "raise SystemExit('must not be imported')\n")
    (tmp_path / "data").mkdir()
    write(tmp_path / "data", "rows.py", "raise SystemExit('must not be imported')\n")
    assert discover([tmp_path]).errors == ()


def test_missing_path_is_an_error_not_an_exception(tmp_path: Path) -> None:
    catalog = discover([tmp_path / "nope"])
    assert len(catalog) == 0
    assert catalog.errors[0].error_type == "FileNotFoundError"


def test_reloading_a_file_picks_up_edits(tmp_path: Path) -> None:
    path = write(tmp_path, "edit_me.py", GOOD)
    first, _ = load_file(path)
    path.write_text(path.read_text().replace('tags=["t"]', 'tags=["changed"]'))
    second, _ = load_file(path)
    good = next(w for w in second if w.name == "disc.good")
    assert good.workflow.tags == ["changed"]
    assert registry.get_workflow("disc.good").tags == ["changed"]
    assert first[0].workflow is not good.workflow


def test_duplicate_names_across_files_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.py", GOOD)
    write(tmp_path, "b.py", GOOD.replace("disc.managed", "disc.other"))
    catalog = discover([tmp_path])
    assert any("already defined" in e.message for e in catalog.errors)


def test_resolve_by_file_and_by_name_with_suggestions(tmp_path: Path) -> None:
    path = write(tmp_path, "single.py", GOOD.replace(
        'managed = ManagedWorkflow("disc.managed").step("a", lambda: {"a": 1}).build()', ""))
    assert resolve(str(path)).name == "disc.good"
    assert resolve("disc.good", [tmp_path]).name == "disc.good"
    with pytest.raises(LookupError, match="did you mean disc.good"):
        resolve("disc.goo", [tmp_path])


def test_resolving_a_yaml_file_imports_the_modules_beside_it(tmp_path: Path) -> None:
    pytest.importorskip("engine.spec")
    write(tmp_path, "handlers.py", """
        from engine import register_pipeline

        def fetch(ctx, config):
            return {"rows": 3}

        register_pipeline("disc.fetch", fetch)
    """)
    write(tmp_path, "flow.yaml", """
        apiVersion: spine.io/v1
        kind: Workflow
        metadata:
          name: disc.yaml_flow
        spec:
          steps:
            - name: fetch
              pipeline: disc.fetch
    """)
    from engine import WorkflowRunner
    from engine import registry as reg

    reg.unregister_pipeline("disc.fetch")
    found = resolve(str(tmp_path / "flow.yaml"))
    assert WorkflowRunner().execute(found.workflow).outputs["fetch"] == {"rows": 3}
    reg.unregister_pipeline("disc.fetch")


def test_a_name_that_looks_like_a_file_falls_back_to_name_lookup(tmp_path: Path) -> None:
    write(tmp_path, "named.py", """
        from engine import Step, Workflow

        flow = Workflow("odd.yaml", steps=[Step.from_function("a", lambda: {})])
    """)
    assert resolve("odd.yaml", [tmp_path]).name == "odd.yaml"
    with pytest.raises(LookupError, match="no such file"):
        resolve("missing/thing.yaml", [tmp_path])
