"""Steps that run as jobs: ``ContainerRunnable`` makes a ``Step.pipeline`` any command, with
its inputs in the environment, its output from stdout's last JSON line or a declared file,
its lines in the tracked run's log, its failures as step errors that say why, and a run's
cancel killing its process tree."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from waits import wait_until

from engine import (
    CommandNotFoundError,
    ContainerRunnable,
    ExecutionMode,
    JobSpecError,
    LocalProcessAdapter,
    RunStatus,
    Step,
    TrackedWorkflowRunner,
    Workflow,
    WorkflowExecutionPolicy,
    WorkflowRunner,
)

pytestmark = pytest.mark.usefixtures("clean_registry")

JOBS = Path(__file__).resolve().parents[1] / "resources" / "jobs"


def py(code: str) -> list[str]:
    return ["python", "-c", code]


@pytest.fixture
def runnable() -> ContainerRunnable:
    return ContainerRunnable(timeout_seconds=30)


def test_a_python_job_step_gives_the_step_its_json_output(runnable: ContainerRunnable) -> None:
    runnable.register("jobs.answer", py(
        "import json; print('thinking...'); print(json.dumps({'answer': 42, 'ok': True}))"))

    def double(answer: int) -> dict:
        return {"doubled": answer * 2}

    wf = Workflow("jobs.steps", [Step.pipeline("answer", "jobs.answer"),
                                 Step.from_function("double", double)])
    result = WorkflowRunner().execute(wf)
    assert result.status is RunStatus.COMPLETED, result.error
    assert result.outputs == {"answer": {"answer": 42, "ok": True}, "double": {"doubled": 84}}


def test_inputs_reach_the_job_as_environment_variables(runnable: ContainerRunnable) -> None:
    code = ("import json, os; inputs = json.loads(os.environ['SPINE_INPUT']); "
            "print(json.dumps({'date': os.environ['SPINE_PARAM_DATE'], "
            "'limit': os.environ['SPINE_PARAM_LIMIT'], 'step': os.environ['SPINE_STEP'], "
            "'rows': inputs['outputs']['load']['rows'], 'config': inputs['config'], "
            "'run': inputs['run_id'] == os.environ['SPINE_RUN_ID']}))")
    runnable.register("jobs.inputs", py(code))
    wf = Workflow("jobs.inputs", [
        Step.lambda_("load", lambda ctx, cfg: {"rows": [1, 2, 3]}),
        Step.pipeline("use", "jobs.inputs", config={"limit": 10, "date": "2026-02-16"})])
    result = WorkflowRunner().execute(wf, {"date": "1999-01-01"})
    assert result.outputs["use"] == {"date": "2026-02-16", "limit": "10", "step": "use",
                                     "rows": [1, 2, 3], "run": True,
                                     "config": {"limit": 10, "date": "2026-02-16"}}


def test_a_declared_output_file_is_the_output(runnable: ContainerRunnable) -> None:
    runnable.register("jobs.file", py(
        "import json; print('not json'); json.dump({'rows': 7}, open('result.json', 'w'))"),
        output_file="result.json")
    runnable.register("jobs.missing", py("print('{\"ignored\": 1}')"), output_file="out.json")
    wf = Workflow("jobs.files", [Step.pipeline("file", "jobs.file"),
                                 Step.pipeline("missing", "jobs.missing")])
    result = WorkflowRunner().execute(wf)
    assert result.outputs["file"] == {"rows": 7}
    failed = result.steps["missing"]
    assert failed.status is RunStatus.FAILED and failed.error_category == "VALIDATION"
    assert "its output file 'out.json' could not be read" in (failed.error or "")


def test_output_without_json_is_empty_and_an_array_is_wrapped(runnable: ContainerRunnable) -> None:
    assert runnable.run("jobs.plain", command=py("print('done')")).output == {}
    assert runnable.run("jobs.list", command=py("print('[1, 2]')")).output == {"result": [1, 2]}


def test_a_failing_job_fails_its_step_with_the_reason(runnable: ContainerRunnable) -> None:
    runnable.register("jobs.crash", py("import sys; sys.exit('database refused the load')"))
    runnable.register("jobs.slow", py("import time; time.sleep(30)"), timeout_seconds=0.5)
    wf = Workflow("jobs.failing", [Step.pipeline("crash", "jobs.crash"),
                                   Step.pipeline("slow", "jobs.slow", depends_on=[])],
                  execution_policy=WorkflowExecutionPolicy(mode=ExecutionMode.PARALLEL))
    result = WorkflowRunner().execute(wf)
    crash, slow = result.steps["crash"], result.steps["slow"]
    assert crash.status is RunStatus.FAILED and crash.error_category == "INTERNAL"
    assert crash.error == "job 'jobs.crash' exited with code 1: database refused the load"
    assert slow.error_category == "TIMEOUT"
    assert slow.error == ("job 'jobs.slow' exceeded its timeout of 0.5s; "
                          "its process tree was killed")


def test_bad_jobs_are_refused_at_registration_before_any_run(runnable: ContainerRunnable) -> None:
    with pytest.raises(CommandNotFoundError, match="'Rscript' was not found"):
        runnable.register("analytics.r_model", ["Rscript", "model.R"])
    with pytest.raises(JobSpecError, match="resources.memory: '4GB' is not a memory quantity"):
        runnable.register("jobs.typo", py("pass"), resources={"memory": "4GB"})
    with pytest.raises(TypeError, match="unknown job field"):
        runnable.register("jobs.typo", py("pass"), imgae="x")
    result = runnable.run("jobs.none")
    assert not result.success and result.category == "CONFIGURATION"
    assert "pipeline 'jobs.none' has no command" in (result.error or "")


def test_commands_can_come_from_step_config(runnable: ContainerRunnable) -> None:
    """Spec 12b: each step names its image and command in its config."""
    wf = Workflow("polyglot.pipeline", [
        Step.from_function("prepare", lambda: {"rows": 3}),
        Step.pipeline("shell_step", "reports.shell", config={
            "image": "alpine:3", "command": ["sh", "-c", 'echo "{\\"shell\\": true}"']}),
        Step.pipeline("py_step", "reports.python", config={
            "image": "python:3.12", "command": py("print('{\"python\": true}')")}),
    ])
    assert runnable.register_workflow(wf) == ["reports.shell", "reports.python"]
    result = WorkflowRunner().execute(wf)
    assert result.outputs["shell_step"] == {"shell": True}
    assert result.outputs["py_step"] == {"python": True}
    broken = Workflow("broken", [Step.pipeline("x", "reports.nothing", config={
        "command": ["no-such-tool-abc"]})])
    with pytest.raises(CommandNotFoundError):
        runnable.register_workflow(broken)


def test_job_lines_land_in_the_tracked_runs_log(tmp_path: Path,
                                                runnable: ContainerRunnable) -> None:
    runnable.register("jobs.chatty", py(
        "import json, sys; print('loading 3 files'); print('odd row 2', file=sys.stderr); "
        "print(json.dumps({'files': 3}))"))
    wf = Workflow("jobs.logged", [Step.pipeline("chatty", "jobs.chatty")])
    with TrackedWorkflowRunner(tmp_path / "spine.db") as tracked:
        result = tracked.execute(wf)
        logs = tracked.store.logs(result.run_id, step="chatty")
    assert result.outputs["chatty"] == {"files": 3}
    lines = [(r.level, r.message) for r in logs]
    assert ("INFO", "spine.run.job: loading 3 files") in lines
    assert ("WARNING", "spine.run.job: odd row 2") in lines
    assert ("INFO", 'spine.run.job: {"files": 3}') in lines
    assert any(m.startswith("spine.run.job: job jobs.chatty (local-") for _, m in lines)


def test_cancelling_the_run_kills_the_jobs_process_tree(tmp_path: Path) -> None:
    runnable = ContainerRunnable()
    pid_file = tmp_path / "pids.json"
    runnable.register("jobs.tree", ["python", str(JOBS / "tree.py")])
    wf = Workflow("jobs.cancelled", [Step.pipeline("tree", "jobs.tree")])
    cancel = threading.Event()
    box: dict[str, Any] = {}

    def capture(event: Any) -> None:
        message = getattr(event, "message", "")
        if message.startswith("spine.run.job: {"):
            pid_file.write_text(message.split(": ", 1)[1])

    runner = WorkflowRunner(capture_logs=True, listeners=[capture])
    thread = threading.Thread(target=lambda: box.update(result=runner.execute(wf, cancel=cancel)))
    thread.start()
    pids = json.loads(wait_until(lambda: pid_file.exists() and pid_file.read_text(),
                                 what="the job's pids"))
    cancel.set()
    thread.join(20)
    step = box["result"].steps["tree"]
    assert step.status is RunStatus.CANCELLED and step.error_category == "CANCELLED"
    for pid in pids.values():
        assert wait_until(lambda p=pid: _gone(p), timeout=5, what=f"pid {pid} gone")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_job_step_runs_even_when_called_from_inside_an_event_loop(
        runnable: ContainerRunnable) -> None:
    async def inside() -> Any:
        return runnable.run("jobs.nested", command=py("print('{\"nested\": true}')"))

    assert asyncio.run(inside()).output == {"nested": True}


def test_a_runnable_on_its_own_engine_uses_its_adapters() -> None:
    from engine import JobEngine, RuntimeAdapterRouter

    router = RuntimeAdapterRouter()
    router.register(LocalProcessAdapter(pass_env=["SPINE_TEST_MARK"]))
    os.environ["SPINE_TEST_MARK"] = "through"
    try:
        runnable = ContainerRunnable(JobEngine(router=router), image_resolver={"a": "img:1"})
        result = runnable.run("a", command=py(
            "import os, json; print(json.dumps({'mark': os.environ['SPINE_TEST_MARK']}))"))
    finally:
        del os.environ["SPINE_TEST_MARK"]
    assert result.output == {"mark": "through"}
    assert runnable.image_for("a") == "img:1" and runnable.image_for("b") == "spine-pipeline:latest"
    assert sys.executable  # the job's `python` is this interpreter (its folder leads PATH)
