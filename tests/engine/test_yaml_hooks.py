"""``skip_if`` and ``on_failure`` as ``Step`` fields: written in YAML (an expression or a
``module:qualname`` reference), run by the runner and the playground, exported back, and kept
in stored versions."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from engine import (
    ManagedWorkflow,
    RunStatus,
    Step,
    TrackedWorkflowRunner,
    Workflow,
    WorkflowPlayground,
    WorkflowRunner,
    WorkflowSpecError,
)
from engine.expressions import Expression, ExpressionError
from engine.spec import WorkflowSpec
from engine.store import RunStore
from engine.versions import WorkflowVersionStore

HOOKS = Path(__file__).resolve().parents[1] / "resources" / "yaml_hooks"
S = RunStatus


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """``yaml_hooks_handlers``, importable by the references the documents use."""
    monkeypatch.syspath_prepend(str(HOOKS))
    import yaml_hooks_handlers

    yield yaml_hooks_handlers


def statuses(result: Any) -> dict[str, RunStatus]:
    return {name: run.status for name, run in result.steps.items()}


# --------------------------------------------------------------------------- running YAML
def test_a_yaml_skip_if_expression_skips_the_step_in_a_tracked_run(
        hooks: ModuleType, tmp_path: Path) -> None:
    workflow = WorkflowSpec.from_file(HOOKS / "dry_run.yaml").to_workflow()
    with TrackedWorkflowRunner(tmp_path / "spine.db") as runner:
        dry = runner.execute(workflow, {"dry_run": True})
        real = runner.execute(workflow, {})
    assert dry.status is S.COMPLETED
    assert statuses(dry) == {"load": S.COMPLETED, "publish": S.SKIPPED, "report": S.COMPLETED}
    assert dry.steps["publish"].error == "skip_if 'params.dry_run' was true"
    assert "published" not in dry.outputs.get("publish", {})
    assert real.steps["publish"].status is S.COMPLETED  # no dry_run param: false, not an error
    assert real.steps["publish"].output == {"published": 3}
    stored = {r.step: r.status for r in RunStore(tmp_path / "spine.db").step_runs(dry.run_id)}
    assert stored["publish"] is S.SKIPPED and stored["report"] is S.COMPLETED


def test_a_yaml_skip_if_reference_is_called_like_a_step_function(hooks: ModuleType) -> None:
    workflow = WorkflowSpec.from_file(HOOKS / "rollback.yaml").to_workflow()
    assert workflow.get_step("small").skip_if is hooks.too_few_rows
    skipped = WorkflowRunner().execute(workflow)  # rows=3 < min_rows=10
    assert skipped.steps["small"].status is S.SKIPPED
    assert skipped.steps["small"].error == "skip_if (too_few_rows) was true"
    ran = WorkflowRunner().execute(workflow, {"min_rows": 2})  # a run param fills min_rows
    assert ran.steps["small"].status is S.COMPLETED


def test_a_yaml_on_failure_handler_runs_after_the_step_fails(
        hooks: ModuleType, tmp_path: Path) -> None:
    workflow = WorkflowSpec.from_file(HOOKS / "rollback.yaml").to_workflow()
    with TrackedWorkflowRunner(tmp_path / "spine.db") as runner:
        result = runner.execute(workflow)
    assert result.status is S.FAILED and result.error_step == "write"
    handler = result.steps["on_failure(write)"]
    assert handler.status is S.COMPLETED
    assert handler.output == {"rolled_back": "write",
                              "error": "RuntimeError: disk full after 3 rows", "rows": 3}
    assert result.steps["after"].status is S.SKIPPED  # the original failure still decides
    stored = {r.step: r.status for r in RunStore(tmp_path / "spine.db").step_runs(result.run_id)}
    assert stored["on_failure(write)"] is S.COMPLETED and stored["write"] is S.FAILED


def test_a_step_without_its_own_handler_gets_none(hooks: ModuleType) -> None:
    text = doc("""
        - name: first
          function: yaml_hooks_handlers:write
          config: {rows: 1}
        - name: second
          function: yaml_hooks_handlers:write
          config: {rows: 2}
          depends_on: []
          on_failure: yaml_hooks_handlers:notify
    """, policy="  policy:\n    on_failure: continue\n")
    result = WorkflowRunner().execute(WorkflowSpec.from_yaml(text).to_workflow())
    assert result.status is S.FAILED
    assert result.steps["on_failure(second)"].output == {"notified": "second"}
    assert "on_failure(first)" not in result.steps  # no handler step for a step without one
    assert all("notified" not in (run.output or {}) for name, run in result.steps.items()
               if name != "on_failure(second)")


def test_the_playground_skips_and_handles_failures_like_the_runner(hooks: ModuleType) -> None:
    pg = WorkflowPlayground()
    pg.load(WorkflowSpec.from_file(HOOKS / "dry_run.yaml").to_workflow(), {"dry_run": True})
    pg.continue_()
    assert pg.status is S.COMPLETED
    assert pg.current.state.runs["publish"].status is S.SKIPPED
    pg.load(WorkflowSpec.from_file(HOOKS / "rollback.yaml").to_workflow())
    pg.continue_()
    runs = pg.current.state.runs
    assert pg.status is S.FAILED and runs["write"].status is S.FAILED
    assert runs["on_failure(write)"].output["rolled_back"] == "write"


# --------------------------------------------------------------------------- round trips
def test_a_hooked_yaml_file_exports_back_to_itself(hooks: ModuleType) -> None:
    for name in ("dry_run.yaml", "rollback.yaml"):
        text = (HOOKS / name).read_text(encoding="utf-8")
        assert WorkflowSpec.from_yaml(text).to_yaml() == text


def test_runtime_to_yaml_to_runtime_keeps_both_hooks(hooks: ModuleType) -> None:
    workflow = Workflow("hooks.round_trip", [
        Step.lambda_("load", hooks.load),
        Step.from_function("publish", hooks.publish, skip_if="params.dry_run",
                           on_failure=hooks.rollback),
        Step.from_function("check", hooks.report, skip_if=hooks.too_few_rows),
        Step.pipeline("ship", "hooks.ship").with_changes(on_failure=hooks.notify),
    ])
    text = WorkflowSpec.from_workflow(workflow).to_yaml()
    assert "skip_if: params.dry_run" in text
    assert "skip_if: yaml_hooks_handlers:too_few_rows" in text
    assert "on_failure: yaml_hooks_handlers:rollback" in text
    assert "on_failure: yaml_hooks_handlers:notify" in text
    back = WorkflowSpec.from_yaml(text).to_workflow()
    assert [s.to_dict() for s in back.steps] == [s.to_dict() for s in workflow.steps]
    publish = back.get_step("publish")
    assert publish.skip_if == Expression("params.dry_run")
    assert publish.on_failure is hooks.rollback
    assert publish.handler_ref == "yaml_hooks_handlers:publish"
    assert back.get_step("check").skip_if is hooks.too_few_rows
    assert back.get_step("ship").on_failure is hooks.notify
    assert WorkflowSpec.from_workflow(back) == WorkflowSpec.from_yaml(text)


def test_functions_yaml_cannot_name_are_refused_with_the_hook_named(hooks: ModuleType) -> None:
    def local_rollback(failed_step: Any) -> dict[str, Any]:
        return {}

    cases = {"skip_if": Step.from_function("p", hooks.publish, skip_if=lambda rows: rows > 1),
             "on_failure": Step.from_function("p", hooks.publish, on_failure=local_rollback)}
    for hook, step in cases.items():
        with pytest.raises(WorkflowSpecError) as caught:
            WorkflowSpec.from_workflow(Workflow("hooks.local", [step]))
        message = str(caught.value)
        assert f"step 'p': {hook}" in message
        assert "lambda, closure or nested function" in message


# --------------------------------------------------------------------------- stored versions
def test_a_stored_version_keeps_the_hooks_and_rebuilds_a_runnable_workflow(
        hooks: ModuleType, tmp_path: Path) -> None:
    db = tmp_path / "spine.db"
    steps = [Step.lambda_("load", hooks.load),
             Step.from_function("publish", hooks.publish, skip_if="params.dry_run"),
             Step.from_function("write", hooks.write, on_failure=hooks.rollback)]
    versions = WorkflowVersionStore(db)
    first = versions.publish(Workflow("hooks.stored", steps))
    assert first.replayable
    stored_steps = first.definition["spec"]["steps"]
    assert stored_steps[1]["skip_if"] == "params.dry_run"
    assert stored_steps[2]["on_failure"] == "yaml_hooks_handlers:rollback"

    rebuilt = WorkflowVersionStore(db).get("hooks.stored", first.version).to_workflow()
    assert rebuilt.get_step("publish").skip_if == Expression("params.dry_run")
    with TrackedWorkflowRunner(db) as runner:
        result = runner.execute(rebuilt, {"dry_run": True})
    assert statuses(result)["publish"] is S.SKIPPED
    assert result.steps["on_failure(write)"].output["rolled_back"] == "write"

    steps[1] = steps[1].with_changes(skip_if="params.dry_run || params.n > 3")
    second = versions.publish(Workflow("hooks.stored", steps))
    assert second.version == first.version + 1
    assert "changed publish.skip_if" in second.changes
    change = versions.diff("hooks.stored", first.version, second.version)
    assert change.step_changes("publish")["skip_if"].new == "params.dry_run || params.n > 3"


def test_a_version_with_a_lambda_hook_is_stored_but_not_replayable(
        hooks: ModuleType, tmp_path: Path) -> None:
    step = Step.from_function("publish", hooks.publish, skip_if=lambda rows: rows > 1)
    info = WorkflowVersionStore(tmp_path / "spine.db").publish(Workflow("hooks.lambda", [step]))
    assert not info.replayable
    assert "<lambda>" in info.definition["steps"][0]["skip_if"]


# --------------------------------------------------------------------------- bad documents
def doc(steps: str, policy: str = "") -> str:
    return (f"apiVersion: spine.io/v1\nkind: Workflow\nmetadata:\n  name: hooks.bad\nspec:\n"
            f"  steps:\n{textwrap.indent(textwrap.dedent(steps).strip(), '    ')}\n{policy}")


@pytest.mark.parametrize(("step", "message", "line"), [
    ("skip_if: 'params.rows +'", "invalid expression", 9),
    ("skip_if: parms.dry_run", "unknown name 'parms'; the names available are outputs, params",
     9),
    ("skip_if: \"__import__('os').system('rm -rf /')\"", "unknown function '__import__'", 9),
    ("skip_if: '().__class__.__bases__[0].__subclasses__()'", "invalid expression", 9),
    ("skip_if: 'params.dry_run and params.n > 1'", "invalid expression", 9),  # CEL says &&
    ("skip_if: 'params.rows / 0 > 1'", None, None),  # compiles: fails when run
    ("skip_if: true", "Input should be a valid string", 9),
    ("on_failure: params.failed", "on_failure is an action", 9),
    ("on_failure: yaml_hooks_handlers:missing", "cannot load handler", 9),
    ("skip_if: yaml_hooks_handlers:missing", "cannot load handler", 9),
])
def test_bad_hooks_are_reported_with_file_and_line(
        hooks: ModuleType, tmp_path: Path, step: str, message: str | None,
        line: int | None) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(doc(f"""
        - name: publish
          function: yaml_hooks_handlers:publish
          {step}
    """), encoding="utf-8")
    if message is None:
        workflow = WorkflowSpec.from_file(path).to_workflow()
        result = WorkflowRunner().execute(workflow, {"rows": 1})
        assert result.steps["publish"].status is S.FAILED
        assert "division by zero" in (result.steps["publish"].error or "")
        return
    with pytest.raises(WorkflowSpecError) as caught:
        WorkflowSpec.from_file(path).to_workflow()
    assert caught.value.source == str(path) and caught.value.line == line
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_hooks_where_they_cannot_work_are_refused(hooks: ModuleType) -> None:
    with pytest.raises(WorkflowSpecError, match="skip_if works on lambda and function steps, "
                                                "not on a pipeline step") as pipeline:
        WorkflowSpec.from_yaml(doc("""
            - name: ship
              pipeline: hooks.ship
              skip_if: params.dry_run
        """))
    assert pipeline.value.line == 7
    with pytest.raises(WorkflowSpecError, match="on_failure on the map's inner step 'one' "
                                                "would never run"):
        WorkflowSpec.from_yaml(doc("""
            - name: fan
              map:
                items_path: $.params.items
                steps:
                  - name: one
                    function: yaml_hooks_handlers:publish
                    on_failure: yaml_hooks_handlers:rollback
        """))


# --------------------------------------------------------------------------- the Step API
def test_step_compiles_an_expression_skip_if_and_guards_its_handler(hooks: ModuleType) -> None:
    step = Step.from_function("publish", hooks.publish, skip_if="params.dry_run")
    assert step.skip_if == Expression("params.dry_run")
    assert step.handler is not hooks.publish and step.handler_ref == \
        "yaml_hooks_handlers:publish"
    assert step == Step.from_function("publish", hooks.publish, skip_if="params.dry_run")
    plain = step.with_changes(skip_if=None)
    assert plain.handler is hooks.publish and plain.skip_if is None
    renamed = step.with_changes(name="publish2", skip_if="params.n > 1")
    assert renamed.handler.fn is hooks.publish  # type: ignore[union-attr]
    assert WorkflowRunner().execute(Workflow("w", [renamed]), {"rows": 1, "n": 2}) \
        .steps["publish2"].status is S.SKIPPED


def test_step_refuses_bad_hooks_when_it_is_built(hooks: ModuleType) -> None:
    with pytest.raises(ExpressionError) as caught:
        Step.from_function("publish", hooks.publish, skip_if="params.n + open('x')")
    assert str(caught.value).startswith("step 'publish': skip_if: unknown function 'open'")
    assert caught.value.column == 12
    with pytest.raises(ValueError, match="reads 'config'; a skip_if expression reads only "
                                         "params and outputs"):
        Step.from_function("publish", hooks.publish, skip_if=Expression("config.x"))
    with pytest.raises(TypeError, match="a 'module:qualname' reference is for YAML"):
        Step.from_function("publish", hooks.publish,
                           on_failure="yaml_hooks_handlers:rollback")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="skip_if works on lambda and function steps"):
        Step.wait("pause").with_changes(skip_if="params.fast")
    with pytest.raises(ValueError, match="on inner step 'one' would never run"):
        Step.map("fan", "$.params.items", [
            Step.from_function("one", hooks.publish, on_failure=hooks.rollback)])


def test_an_expression_that_fails_while_running_fails_its_step(hooks: ModuleType) -> None:
    step = Step.from_function("publish", hooks.publish, skip_if="params.rows + 1 > 1")
    result = WorkflowRunner().execute(Workflow("w", [step]), {"rows": [1, 2]})
    assert result.steps["publish"].status is S.FAILED
    assert "skip_if: No such overload" in (result.steps["publish"].error or "")


def test_a_lambda_step_with_skip_if_keeps_the_ctx_config_convention(hooks: ModuleType) -> None:
    step = Step.lambda_("load", hooks.load, config={"rows": 7}, skip_if="params.cached")
    ran = WorkflowRunner().execute(Workflow("w", [step]))
    assert ran.steps["load"].output == {"rows": 7}
    skipped = WorkflowRunner().execute(Workflow("w", [step]), {"cached": 1})
    assert skipped.steps["load"].status is S.SKIPPED


# --------------------------------------------------------------------------- ManagedWorkflow
def test_managed_steps_take_expressions_and_their_own_failure_handlers(
        hooks: ModuleType) -> None:
    wf = (ManagedWorkflow("hooks.managed")
          .step("load", lambda: {"rows": 3})
          .step("publish", hooks.publish, skip_if="params.dry_run")
          .step("write", hooks.write, on_failure=hooks.rollback)
          .on_failure(hooks.notify)
          .build())
    assert wf.steps[1].on_failure is hooks.notify  # the workflow's handler, written on the step
    assert wf.steps[2].on_failure is hooks.rollback  # a step's own handler wins
    result = wf.run({"dry_run": True})
    assert result.steps["publish"].status is S.SKIPPED
    assert result.steps["on_failure(write)"].output["rolled_back"] == "write"


def test_a_managed_workflow_handler_survives_an_export(hooks: ModuleType) -> None:
    wf = (ManagedWorkflow("hooks.exported")
          .step("load", hooks.publish, config={"rows": 1})
          .step("write", hooks.write)
          .on_failure(hooks.rollback))
    text = WorkflowSpec.from_workflow(wf).to_yaml()
    assert text.count("on_failure: yaml_hooks_handlers:rollback") == 2
    result = WorkflowRunner().execute(WorkflowSpec.from_yaml(text).to_workflow())
    assert result.steps["on_failure(write)"].output["rolled_back"] == "write"


def test_a_plain_workflow_runs_a_steps_on_failure(hooks: ModuleType) -> None:
    """``Step.on_failure`` is read by the run loop itself: no special workflow class needed."""
    wf = Workflow("hooks.plain", [
        Step.from_function("write", hooks.write, config={"rows": 1},
                           on_failure=hooks.notify)])
    result = WorkflowRunner().execute(wf)
    assert result.steps["on_failure(write)"].output == {"notified": "write"}
