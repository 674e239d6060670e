"""Module-level functions the ``yaml_hooks`` documents name as ``yaml_hooks_handlers:<name>``
(handlers, ``skip_if`` predicates and ``on_failure`` handlers)."""

from __future__ import annotations

from typing import Any

from engine import StepRun, WorkflowContext


def load(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
    """Read the rows to publish."""
    return {"rows": int(config.get("rows", 3))}


def publish(rows: int) -> dict[str, Any]:
    """Publish the rows (what a dry run skips)."""
    return {"published": rows}


def report(rows: int) -> dict[str, Any]:
    return {"report": f"{rows} rows"}


def too_few_rows(rows: int, min_rows: int = 10) -> bool:
    """A skip_if predicate, called like a step function."""
    return rows < min_rows


def write(rows: int) -> dict[str, Any]:
    raise RuntimeError(f"disk full after {rows} rows")


def rollback(failed_step: StepRun, ctx: WorkflowContext) -> dict[str, Any]:
    """An on_failure handler: undo what the failed step wrote."""
    return {"rolled_back": failed_step.name, "error": failed_step.error,
            "rows": ctx.get("rows")}


def notify(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
    """A context-style on_failure handler."""
    return {"notified": config["failed_step"].name}
