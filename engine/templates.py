"""Workflow templates for common shapes: ETL (extract → validate → transform → load) and
scheduled batches (run a pipeline, validate, notify)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .adapters import WorkflowStepFunction
from .steps import Step
from .workflow import Workflow

StepLike = str | Step | WorkflowStepFunction | Callable[..., Any]

DEFAULT_BATCH_SCHEDULE = "0 6 * * *"


def as_step(role: str, part: StepLike) -> Step:
    """A step from a pipeline name, a ``Step``, a ``@workflow_step`` or a plain function."""
    if isinstance(part, Step):
        return part
    if isinstance(part, WorkflowStepFunction):
        return part.as_step()
    if isinstance(part, str):
        return Step.pipeline(role, part)
    if callable(part):
        return Step.from_function(role, part)
    raise TypeError(f"template part {role!r} must be a pipeline name, Step or function, "
                    f"got {type(part).__name__}")


def etl_pipeline(name: str, extract: StepLike, load: StepLike, transform: StepLike | None = None,
                 validate: StepLike | None = None, *, domain: str = "", description: str = "",
                 tags: Iterable[str] = ("etl",), **workflow_kwargs: Any) -> Workflow:
    """extract → [validate] → [transform] → load, each part chained after the previous."""
    parts = [("extract", extract), ("validate", validate), ("transform", transform),
             ("load", load)]
    steps = [as_step(role, part) for role, part in parts if part is not None]
    return Workflow(name, steps, domain=domain, description=description, tags=tags,
                    **workflow_kwargs)


def scheduled_batch(name: str, pipeline: StepLike, validator: StepLike | None = None,
                    notifier: StepLike | None = None, *, schedule: str = DEFAULT_BATCH_SCHEDULE,
                    domain: str = "", description: str = "",
                    tags: Iterable[str] = ("scheduled", "batch"),
                    **workflow_kwargs: Any) -> Workflow:
    """run the batch pipeline → [validate] → [notify], with a cron ``schedule``.

    The default schedule is daily at 06:00 (``0 6 * * *``). A pipeline given by name runs as
    a step named after its last dotted segment (``reports.generate_daily`` → ``generate_daily``).
    """
    role = pipeline.rsplit(".", 1)[-1] if isinstance(pipeline, str) else "batch"
    steps = [as_step(role, pipeline)]
    if validator is not None:
        steps.append(as_step("validate", validator))
    if notifier is not None:
        steps.append(as_step("notify", notifier))
    return Workflow(name, steps, domain=domain, description=description, tags=tags,
                    schedule=schedule, **workflow_kwargs)
