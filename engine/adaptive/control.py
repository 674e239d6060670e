"""The run side of adaptive workflows: collecting the changes steps request through their
context, until the scheduler (or the playground) applies them between steps.

``AdaptiveControl`` is attached to a run's context; it validates each request at once against
its host (a ``RunLoop`` or a playground) and keeps it per requesting step. It also starts
spawned child runs and records a ``continue_as_new``, and builds the step that runs a failed
step's ``on_failure`` handler (the run loop and the playground read ``Step.on_failure``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from ..artifacts.refs import REF_TYPE, ArtifactRef
from ..errors import UnknownWorkflowError
from ..events import RunOrigin
from ..graph import Plan
from ..ids import new_run_id
from ..invoke import signature_of
from ..policies import ErrorPolicy
from ..registry import get_workflow
from ..results import RunStatus, StepRun
from ..steps import Step
from .changes import AdaptiveChangeError, ChangeKind, Request, replan

if TYPE_CHECKING:
    from ..context import WorkflowContext
    from ..runner import WorkflowRunner

_local = threading.local()


def set_current(control: AdaptiveControl | None, step: str | None) -> Any:
    """Tell requests made on this thread which step is asking; returns what to restore."""
    previous = getattr(_local, "current", None)
    _local.current = (control, step) if control is not None else None
    return previous


def restore_current(previous: Any) -> None:
    _local.current = previous


class ContinueAsNew(BaseException):  # noqa: N818 - a control-flow signal, like StopIteration
    """Raised by ``ctx.continue_as_new`` to end the step at once; the runner turns it into a
    completed step (a BaseException, so a handler's ``except Exception`` does not swallow it)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


@dataclass(frozen=True, slots=True)
class Continuation:
    """A requested ``continue_as_new``: the next run's id and params, and who asked."""

    step: str
    run_id: str
    params: dict[str, Any]
    preserve_artifacts: bool


class AdaptiveHost(Protocol):
    """What a controller needs from whatever runs the steps."""

    runner: WorkflowRunner

    def adaptive_graph(self) -> tuple[str, tuple[Step, ...], Plan]: ...

    def adaptive_status(self, name: str) -> RunStatus: ...

    def adaptive_running(self) -> list[str]: ...

    def adaptive_failed(self) -> StepRun | None: ...


class AdaptiveControl:
    """Pending changes of one run, per requesting step; ``pending`` is the scheduler's cheap
    "anything to look at?" flag."""

    __slots__ = ("host", "pending", "batches", "retries", "continuation", "_lock")

    def __init__(self, host: AdaptiveHost) -> None:
        self.host = host
        self.pending = False
        self.batches: dict[str, list[Request]] = {}
        #: retry_step counts per step in this run (bounded by MAX_ADAPTIVE_RETRIES)
        self.retries: dict[str, int] = {}
        self.continuation: Continuation | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ requests
    def requester(self) -> str:
        """The running step asking: the one this thread runs, else the only one running."""
        current = getattr(_local, "current", None)
        if current is not None and current[0] is self:
            name: str = current[1]
        else:
            running = self.host.adaptive_running()
            if len(running) != 1:
                raise AdaptiveChangeError(
                    "adaptive changes can only be requested from inside a running step "
                    "of this workflow, on the step's own thread")
            name = running[0]
        if self.host.adaptive_status(name) is not RunStatus.RUNNING:
            raise AdaptiveChangeError(f"step {name!r} has already finished; changes requested "
                                      "after a step ends (e.g. after its timeout) are ignored")
        return name

    def request(self, request: Request) -> None:
        """Validate ``request`` with the asking step's earlier ones, then keep it."""
        with self._lock:
            who = self.requester()
            batch = [*self.batches.get(who, ()), request]
            workflow, steps, plan = self.host.adaptive_graph()
            replan(workflow, steps, plan, self.host.adaptive_status, who, batch, self.retries)
            self.batches[who] = batch
            self.pending = True

    def take(self, step: str) -> tuple[list[Request], Continuation | None]:
        """Remove and return what ``step`` asked for (call when it has finished)."""
        with self._lock:
            batch = self.batches.pop(step, [])
            continuation = self.continuation
            if continuation is not None and continuation.step == step:
                self.continuation = None
            else:
                continuation = None
            self.pending = bool(self.batches) or self.continuation is not None
            return batch, continuation

    def count_retries(self, names: tuple[str, ...]) -> None:
        for name in names:
            self.retries[name] = self.retries.get(name, 0) + 1

    # ------------------------------------------------------------------ side effects
    def spawn(self, ctx: WorkflowContext, name: str, workflow_name: str,
              params: Mapping[str, Any] | None) -> str:
        """Start ``workflow_name`` as a detached child run now; recorded when the step ends."""
        if not isinstance(name, str) or not name:
            raise AdaptiveChangeError(f"spawn_workflow needs a non-empty name, got {name!r}")
        if params is not None and not isinstance(params, Mapping):
            raise AdaptiveChangeError(f"spawn_workflow({name!r}): params must be a dict, got "
                                      f"{type(params).__name__}")
        with self._lock:
            who = self.requester()
        try:
            child = get_workflow(workflow_name)
        except UnknownWorkflowError as exc:
            raise AdaptiveChangeError(f"spawn_workflow({name!r}): {exc}") from None
        if child.name in ctx.call_chain:
            raise AdaptiveChangeError(
                f"spawn_workflow({name!r}): workflow {child.name!r} is already running in this "
                f"call chain ({' -> '.join(ctx.call_chain)}); a workflow may not spawn itself")
        runner, run_id, parent, chain = self.host.runner, new_run_id(), ctx.run_id, ctx.call_chain
        child_params = dict(params or {})
        runner.start_background(
            lambda: runner.execute(child, child_params, run_id=run_id, parent_run_id=parent,
                                   call_chain=chain,
                                   origin=RunOrigin(started_by=ctx.started_by)),
            name=f"spawn-{name}-{run_id}")
        detail = {"name": name, "workflow": child.name, "child_run_id": run_id,
                  "params": child_params}
        with self._lock:
            self.batches.setdefault(who, []).append(Request(ChangeKind.SPAWN, detail=detail))
            self.pending = True
        return run_id

    def continue_as_new(self, params: Mapping[str, Any] | None,
                        preserve_artifacts: bool) -> NoReturn:
        if params is not None and not isinstance(params, Mapping):
            raise AdaptiveChangeError(f"continue_as_new: params must be a dict, got "
                                      f"{type(params).__name__}")
        with self._lock:
            who = self.requester()
            if self.continuation is not None:
                raise AdaptiveChangeError(
                    f"continue_as_new was already requested by step {self.continuation.step!r}")
            self.continuation = Continuation(who, new_run_id(), dict(params or {}),
                                             bool(preserve_artifacts))
            self.pending = True
        raise ContinueAsNew(self.continuation.run_id)

    def failed_step(self) -> StepRun | None:
        return self.host.adaptive_failed()


# ---------------------------------------------------------------------- failure handlers
def failure_handler_step(name: str, fn: Callable[..., Any], failed: StepRun) -> Step:
    """The step that runs an ``on_failure`` handler after ``failed``: ``fn(ctx, config)`` sees
    ``config["failed_step"]``; a plain function may take ``failed_step`` (and ``ctx``)."""
    config = {"failed_step": failed}
    description = f"on_failure handler for step {failed.name!r}"
    handler = fn
    if signature_of(handler).context_style:
        step = Step.lambda_(name, handler, config=config, depends_on=[failed.name],
                            description=description)
    else:
        step = Step.from_function(name, handler, config=config, depends_on=[failed.name],
                                  description=description)
    return step.with_changes(on_error=ErrorPolicy.CONTINUE)


def artifact_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The outputs that hold an artifact ref: what ``continue_as_new(preserve_artifacts=True)``
    hands to the next run."""
    def holds_ref(value: Any) -> bool:
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, ArtifactRef):
                return True
            if isinstance(item, Mapping):
                if item.get("type") == REF_TYPE:
                    return True
                stack.extend(item.values())
            elif isinstance(item, list | tuple):
                stack.extend(item)
        return False

    return {name: output for name, output in outputs.items() if holds_ref(output)}
