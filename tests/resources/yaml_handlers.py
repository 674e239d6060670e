"""Module-level step handlers that YAML specs in the tests refer to as ``yaml_handlers:<name>``."""

from __future__ import annotations

from typing import Any

from engine import WorkflowContext, workflow_step

NOT_CALLABLE = 42


def extract(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
    """Produce n numbered items."""
    n = int(config.get("n", 3))
    return {"items": [{"value": i} for i in range(1, n + 1)]}


def total(items: list[dict[str, Any]], factor: int = 1) -> dict[str, Any]:
    """Sum the item values times factor."""
    return {"total": sum(item["value"] for item in items) * factor}


def square(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
    return {"squared": config["value"] ** 2}


def label(squared: int) -> dict[str, Any]:
    return {"label": f"sq={squared}"}


class Handlers:
    """Handlers addressed by a dotted qualname (``yaml_handlers:Handlers.echo``)."""

    @staticmethod
    def echo(ctx: WorkflowContext, config: dict[str, Any]) -> dict[str, Any]:
        return dict(config)


@workflow_step
def decorated(x: int = 1) -> dict[str, Any]:
    """A @workflow_step function; YAML refers to the plain function underneath."""
    return {"y": x + 1}
