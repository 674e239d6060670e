"""``ContainerRunnable``: runs a ``Step.pipeline`` as a job (spec §12b), so a step can be any
command in any language.

``register(pipeline, command=...)`` makes the pipeline a job step (checked at once: a
missing program fails there, not mid-run). The job gets its inputs as environment
variables — ``SPINE_INPUT`` (JSON: run id, step, params, config, earlier outputs) and
``SPINE_PARAM_<NAME>`` for each scalar param or config value — and its output is the last
line of its stdout that is a JSON object or array (an array becomes ``{"result": [...]}``),
or the JSON file it declares with ``output_file`` (relative to its working directory); with
neither, ``{}``. Its lines go to the ``spine.run.job`` logger as they come (stdout at INFO,
stderr at WARNING), which a tracked run captures into the step's log. A run's cancel and
the step's own ``timeout_seconds`` both cancel the job through its adapter, which kills its
whole process tree (SIGTERM, then SIGKILL after the adapter's grace); the timed-out step
fails as TIMEOUT saying the job was killed. The job's ``timeout_seconds`` bounds the job
itself, wherever it is run from.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import re
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ..policies import ErrorCategory
from ..registry import get_pipeline, list_pipelines, register_pipeline
from ..results import StepResult
from ..step_scope import current_step
from .errors import JobError, JobSpecError
from .job_engine import JobEngine, JobResult
from .spec import ContainerJobSpec, ResourceRequirements, SidecarSpec
from .status import JobLogLine, JobState

if TYPE_CHECKING:
    from ..context import WorkflowContext
    from ..workflow import Workflow

T = TypeVar("T")

_DEFAULT_IMAGE = "spine-pipeline:latest"
#: the logger job lines go to; a child of ``spine.run``, which tracked runs capture
JOB_LOGGER = logging.getLogger("spine.run.job")
#: step config keys that describe the job; every other key is the job's input
JOB_KEYS = frozenset({"image", "command", "args", "env", "working_dir", "timeout_seconds",
                      "resources", "output_file", "labels", "sidecars", "runtime"})
#: largest ``SPINE_INPUT`` passed through the environment (Linux allows 128 KiB per variable)
MAX_INPUT = 100_000
_SCALARS = (str, int, float, bool)
_DONE = object()


def relay_line(line: JobLogLine) -> None:
    """Log one job line: stdout at INFO, stderr at WARNING."""
    level = logging.INFO if line.stream == "stdout" else logging.WARNING
    JOB_LOGGER.log(level, "%s", line.text.rstrip("\n"))


def run_blocking(make: Callable[[Callable[[JobLogLine], None]], Coroutine[Any, Any, T]],
                 on_line: Callable[[JobLogLine], None]) -> T:
    """Run a job coroutine to its end from synchronous code, calling ``on_line`` on this
    thread (so a step's log capture sees the lines); works even when this thread is already
    running an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make(on_line))
    lines: queue.Queue[Any] = queue.Queue()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(make(lines.put))
        except BaseException as exc:  # handed back to the calling thread below
            box["error"] = exc
        finally:
            lines.put(_DONE)

    threading.Thread(target=target, name="spine-job", daemon=True).start()
    while (item := lines.get()) is not _DONE:
        on_line(item)
    if "error" in box:
        raise box["error"]
    result: T = box["result"]
    return result


@dataclass(frozen=True, eq=False)
class JobStep:
    """A pipeline handler that runs its step as a job; ``defaults`` are job fields (command,
    image, env, ...) that the step's config may override.

    It runs in the coordinating process on every executor (``runs_in_coordinator``): the job
    is already its own process or container, started, streamed and stopped from here."""

    #: never shipped to a process or Dask worker (``engine.executors.checks``)
    runs_in_coordinator: ClassVar[bool] = True
    runnable: ContainerRunnable
    pipeline_name: str
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, ctx: WorkflowContext, config: Mapping[str, Any]) -> StepResult:
        return self.runnable.run_step(self.pipeline_name, ctx, config, self.defaults)


class ContainerRunnable:
    """Bridges ``Step.pipeline`` steps to a ``JobEngine`` (local processes unless given one).

    ``image_resolver`` maps a pipeline name to its image (a dict or a function); a step's
    ``image`` config wins, ``default_image`` is the fallback. ``env`` and ``timeout_seconds``
    apply to every job this runnable starts.
    """

    def __init__(self, engine: JobEngine | None = None, *,
                 image_resolver: Mapping[str, str] | Callable[[str], str | None] | None = None,
                 default_image: str = _DEFAULT_IMAGE, env: Mapping[str, str] | None = None,
                 timeout_seconds: float | None = None) -> None:
        self.engine = engine if engine is not None else JobEngine()
        self.image_resolver = image_resolver
        self.default_image = default_image
        self.env = dict(env or {})
        self.timeout_seconds = timeout_seconds

    def __repr__(self) -> str:
        return f"ContainerRunnable({self.engine!r})"

    def image_for(self, pipeline_name: str) -> str:
        """The image a pipeline's jobs use when its step config names none."""
        resolver = self.image_resolver
        found = (resolver.get(pipeline_name) if isinstance(resolver, Mapping)
                 else resolver(pipeline_name) if resolver is not None else None)
        return found or self.default_image

    # ------------------------------------------------------------------ registration
    def handler(self, pipeline_name: str, command: Sequence[str] | None = None,
                **defaults: Any) -> JobStep:
        """A ``(ctx, config)`` handler running ``pipeline_name`` as a job."""
        unknown = sorted(set(defaults) - JOB_KEYS)
        if unknown:
            raise TypeError(f"unknown job field(s) {', '.join(unknown)}; known: "
                            f"{', '.join(sorted(JOB_KEYS))}")
        if command is not None:
            defaults["command"] = list(command)
        return JobStep(self, pipeline_name, defaults)

    def register(self, pipeline_name: str, command: Sequence[str] | None = None,
                 **defaults: Any) -> JobStep:
        """Register ``pipeline_name`` as a job step; with a command, check now that it can
        run (program found, limits available) — a ``JobError`` here, before any run."""
        step = self.handler(pipeline_name, command, **defaults)
        if "command" in step.defaults:
            self.check(pipeline_name, {}, step.defaults)
        register_pipeline(pipeline_name, step)
        return step

    def register_workflow(self, workflow: Workflow) -> list[str]:
        """Make each pipeline of ``workflow``'s steps that has no Python handler a job step
        whose command comes from its step config; checks every such step's job now and
        returns the pipeline names it registered."""
        names: list[str] = []
        for step in workflow.steps:
            name = step.pipeline_name
            if not name:
                continue
            current = get_pipeline(name) if name in list_pipelines() else None
            if current is not None and not isinstance(current, JobStep):
                continue  # a Python handler runs it
            self.check(name, step.config, current.defaults if current is not None else {})
            if current is None:
                register_pipeline(name, self.handler(name))
                names.append(name)
        return names

    def check(self, pipeline_name: str, config: Mapping[str, Any],
              defaults: Mapping[str, Any]) -> None:
        """Raise the ``JobError`` that would stop this pipeline's job from starting."""
        spec, _ = self.build_spec(pipeline_name, config, None, defaults)
        run_blocking(lambda _: self.engine.router.route(spec), relay_line)

    # ------------------------------------------------------------------ running
    def build_spec(self, pipeline_name: str, config: Mapping[str, Any],
                   ctx: WorkflowContext | None, defaults: Mapping[str, Any],
                   ) -> tuple[ContainerJobSpec, str | None]:
        """The job for one step and its declared output file."""
        job = {**defaults, **{k: v for k, v in config.items() if k in JOB_KEYS}}
        inputs = {k: v for k, v in config.items() if k not in JOB_KEYS}
        command = job.get("command")
        if not command:
            raise JobSpecError(f"pipeline {pipeline_name!r} has no command: pass one to "
                               "ContainerRunnable.register(...) or set 'command' in the step's "
                               "config")
        env: dict[str, str] = {**self.env, **(defaults.get("env") or {}),
                               **(config.get("env") or {})}
        env.update(self._input_env(pipeline_name, inputs, ctx))
        output_file = job.get("output_file")
        spec = ContainerJobSpec(
            name=re.sub(r"[^A-Za-z0-9_.:-]", "-", pipeline_name)[:128] or "job",
            image=job.get("image") or self.image_for(pipeline_name),
            command=list(command), args=list(job.get("args") or ()), env=env,
            working_dir=job.get("working_dir"),
            timeout_seconds=job.get("timeout_seconds", self.timeout_seconds),
            resources=ResourceRequirements.from_value(job.get("resources")),
            labels={**(job.get("labels") or {}), "spine.pipeline": pipeline_name},
            sidecars=[SidecarSpec.from_value(s) for s in job.get("sidecars") or ()],
            runtime=job.get("runtime"))
        return spec, None if output_file is None else str(output_file)

    @staticmethod
    def _input_env(pipeline_name: str, inputs: Mapping[str, Any],
                   ctx: WorkflowContext | None) -> dict[str, str]:
        scope = current_step()
        params = dict(ctx.params) if ctx is not None else {}
        payload = {"run_id": ctx.run_id if ctx is not None else None,
                   "workflow": ctx.workflow_name if ctx is not None else None,
                   "step": scope.step if scope is not None else None,
                   "pipeline": pipeline_name, "params": params, "config": dict(inputs),
                   "outputs": dict(ctx.outputs) if ctx is not None else {}}
        text = json.dumps(payload, default=str)
        if len(text) > MAX_INPUT:
            raise JobSpecError(
                f"pipeline {pipeline_name!r}: the job's inputs are {len(text):,} characters, "
                f"more than the {MAX_INPUT:,} the environment carries; pass large data as an "
                "ArtifactRef or a file path")
        env = {"SPINE_INPUT": text, "SPINE_PIPELINE": pipeline_name}
        if payload["run_id"]:
            env.update(SPINE_RUN_ID=str(payload["run_id"]),
                       SPINE_WORKFLOW=str(payload["workflow"]))
        if payload["step"]:
            env["SPINE_STEP"] = str(payload["step"])
        for name, value in {**params, **inputs}.items():  # config wins over params
            key = re.sub(r"[^A-Z0-9_]", "_", str(name).upper())
            if isinstance(value, _SCALARS) and key:
                env[f"SPINE_PARAM_{key}"] = json.dumps(value) if isinstance(value, bool) \
                    else str(value)
        return env

    def run_step(self, pipeline_name: str, ctx: WorkflowContext | None,
                 config: Mapping[str, Any], defaults: Mapping[str, Any]) -> StepResult:
        """Run one step's job to its end and turn how it ended into the step's result."""
        scope = current_step()
        stop = scope.stop.honour() if scope is not None and scope.stop is not None else None
        try:
            spec, output_file = self.build_spec(pipeline_name, config, ctx, defaults)
            result = run_blocking(
                lambda on_line: self.engine.run(
                    spec, on_line=on_line, output_file=output_file,
                    cancel=(ctx.cancel_event if ctx is not None else None, stop)),
                relay_line)
        except JobError as exc:
            return StepResult.fail(str(exc), category=exc.category)
        status = result.status
        JOB_LOGGER.info("job %s (%s) on %s: %s in %.2fs", spec.name, result.job_id,
                        result.runtime, status.state, status.duration_seconds or 0.0)
        if stop is not None and stop.is_set() and status.state is JobState.CANCELLED:
            return StepResult.fail(
                f"job {spec.name!r} ({result.job_id} on {result.runtime}) was killed with its "
                "whole process tree (SIGTERM, then SIGKILL after the grace)",
                category=ErrorCategory.TIMEOUT)
        if not status.succeeded:
            return StepResult.fail(status.message or f"job {spec.name!r} {status.state}",
                                   category=status.category)
        return _output(spec.name, result, output_file)

    def run(self, pipeline_name: str, config: Mapping[str, Any] | None = None,
            **defaults: Any) -> StepResult:
        """Run a pipeline's job once, outside any workflow."""
        return self.run_step(pipeline_name, None, config or {}, defaults)


def _output(job: str, result: JobResult, output_file: str | None) -> StepResult:
    """The step output: the declared file's JSON, else stdout's last JSON line, else ``{}``."""
    if output_file is not None:
        if result.file is None:
            return StepResult.fail(
                f"job {job!r} succeeded but its output file {output_file!r} could not be read: "
                f"{result.file_error}", category=ErrorCategory.VALIDATION)
        try:
            value = json.loads(result.file)
        except ValueError as exc:
            return StepResult.fail(f"job {job!r}: output file {output_file!r} is not JSON: "
                                   f"{exc}", category=ErrorCategory.VALIDATION)
    else:
        value = result.json_output()
        if value is None:
            return StepResult.ok(output={})
    return StepResult.ok(output=value if isinstance(value, dict) else {"result": value})
