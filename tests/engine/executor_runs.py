"""Runs the executor tests interrupt mid-flight, the same for every executor: a worker killed
during a step's first attempt, and a run cancelled while a step waits on its worker."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import executor_handlers as h
from waits import wait_until

from engine import RetryPolicy, Step, Workflow, WorkflowResult, WorkflowRunner


class BackgroundRun:
    """``WorkflowRunner(executor=...).execute(wf)`` on a thread, so the test can act on the
    run (kill a worker, cancel) while it is in flight."""

    def __init__(self, executor: Any, wf: Workflow,
                 cancel: threading.Event | None = None) -> None:
        self._box: dict[str, WorkflowResult] = {}
        self._thread = threading.Thread(target=lambda: self._box.update(
            result=WorkflowRunner(executor=executor).execute(wf, cancel=cancel)))
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def result(self) -> WorkflowResult:
        """The run's result (a KeyError when the run has not finished)."""
        return self._box["result"]


def kill_first_attempt(executor: Any, marker: Path, name: str,
                       timeout: float) -> tuple[WorkflowResult, int]:
    """Run step ``victim`` (retried up to 3 times), SIGKILL the worker of its first attempt
    and return the run's result and the killed worker's pid."""
    wf = Workflow(name, [Step.from_function(
        "victim", h.first_attempt_waits, config={"marker": str(marker)},
        retry_policy=RetryPolicy(max_attempts=3, initial_delay_seconds=0))])
    run = BackgroundRun(executor, wf)
    pid = int(wait_until(lambda: marker.exists() and marker.read_text(), what="first call"))
    os.kill(pid, signal.SIGKILL)
    run.join(timeout)
    return run.result, pid


def cancel_while_waiting(executor: Any, flag: Path, name: str) -> WorkflowResult:
    """Run ``wait`` (blocks on ``flag``) then ``after``, cancel once ``wait`` has started,
    and return the cancelled run's result."""
    wf = Workflow(name, [Step.from_function("wait", h.wait_for_file, config={"flag": str(flag)}),
                         Step.from_function("after", h.numbers)])
    cancel = threading.Event()
    run = BackgroundRun(executor, wf, cancel)
    wait_until(lambda: Path(str(flag) + ".pid").exists(), what="the step to start")
    cancel.set()
    run.join(10)
    flag.write_text("go")  # let the abandoned call end so the worker is free again
    return run.result
