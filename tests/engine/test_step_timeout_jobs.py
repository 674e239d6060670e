"""A step's own timeout stops the job it runs: a ``Step.pipeline`` running a
``ContainerRunnable`` job with ``timeout_seconds=`` on the step cancels the job through its
adapter when the step times out, so no process of the job's tree (grandchildren included)
outlives the step, and the step fails as TIMEOUT saying the job was killed."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from waits import gone, wait_until

from engine import (
    ContainerRunnable,
    JobEngine,
    LocalProcessAdapter,
    RunStatus,
    RuntimeAdapterRouter,
    Step,
    Workflow,
    WorkflowRunner,
)

pytestmark = pytest.mark.usefixtures("clean_registry")

TREE = str(Path(__file__).resolve().parents[1] / "resources" / "jobs" / "tree.py")


def runnable() -> ContainerRunnable:
    """Jobs on a local adapter with a short kill grace; the job's own timeout is far away,
    so only the step's timeout (or a cancel) can end it in time."""
    router = RuntimeAdapterRouter()
    router.register(LocalProcessAdapter(kill_grace_seconds=0.5))
    return ContainerRunnable(JobEngine(router), timeout_seconds=300)


class Pids:
    """Collects the pids ``tree.py`` prints (the job's and its grandchild's) from the run's
    captured log lines."""

    def __init__(self) -> None:
        self.found: dict[str, int] = {}

    def __call__(self, event: Any) -> None:
        message = getattr(event, "message", "")
        if message.startswith("spine.run.job: {"):
            self.found.update(json.loads(message.split(": ", 1)[1]))


@pytest.mark.parametrize("ignore_term", [False, True], ids=["sigterm", "needs-sigkill"])
def test_a_step_timeout_kills_the_jobs_whole_process_tree(ignore_term: bool) -> None:
    jobs = runnable()
    jobs.register("timeout.tree", ["python", TREE, *(["--ignore-term"] if ignore_term else [])])
    wf = Workflow("timeout.jobs", [Step.pipeline("tree", "timeout.tree", timeout_seconds=2)])
    pids = Pids()
    started = time.monotonic()
    result = WorkflowRunner(capture_logs=True, listeners=[pids]).execute(wf)
    elapsed = time.monotonic() - started
    step = result.steps["tree"]
    assert result.status is RunStatus.FAILED
    assert step.status is RunStatus.FAILED and step.error_category == "TIMEOUT"
    assert step.error is not None
    assert step.error.startswith("step 'tree' exceeded its timeout of 2s; job 'timeout.tree' (")
    assert "was killed with its whole process tree" in step.error
    assert set(pids.found) == {"pid", "grandchild"}, pids.found
    # the runner returned only after the tree was gone: nothing of it is left right now
    assert gone(pids.found["pid"]) and gone(pids.found["grandchild"])
    assert elapsed < 30  # killed at the step's timeout, not at the job's 300 s


def test_a_run_cancel_kills_a_timed_job_steps_tree() -> None:
    jobs = runnable()
    jobs.register("timeout.cancelled", ["python", TREE, "--ignore-term"])
    wf = Workflow("timeout.cancel",
                  [Step.pipeline("tree", "timeout.cancelled", timeout_seconds=120)])
    pids = Pids()
    cancel = threading.Event()
    box: dict[str, Any] = {}
    runner = WorkflowRunner(capture_logs=True, listeners=[pids])
    thread = threading.Thread(target=lambda: box.update(result=runner.execute(wf,
                                                                              cancel=cancel)))
    thread.start()
    wait_until(lambda: len(pids.found) == 2, what="the job's pids")
    cancel.set()
    thread.join(30)
    assert not thread.is_alive()
    step = box["result"].steps["tree"]
    assert step.status is RunStatus.CANCELLED and step.error_category == "CANCELLED"
    assert all(wait_until(lambda p=pid: gone(p), timeout=10, what=f"pid {pid} gone")
               for pid in pids.found.values())


def test_a_plain_handler_that_times_out_keeps_the_runners_message() -> None:
    release = threading.Event()

    def slow() -> dict[str, bool]:
        release.wait(30)
        return {"late": True}

    wf = Workflow("timeout.plain", [Step.from_function("slow", slow, timeout_seconds=0.2)])
    started = time.monotonic()
    result = WorkflowRunner().execute(wf)
    release.set()
    step = result.steps["slow"]
    assert step.error == "step 'slow' exceeded its timeout of 0.2s"
    assert step.error_category == "TIMEOUT"
    assert time.monotonic() - started < 10  # not waited for: it does not honour a stop
