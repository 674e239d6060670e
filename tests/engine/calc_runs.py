"""Running one calculation step in the calculation tests: a ``load`` step hands it its
tables (by ``$.outputs.load.NAME``), on threads and without an artifact store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine import Step, Workflow, WorkflowContext, WorkflowResult, WorkflowRunner


def run_after_load(name: str, step: Step, data: Mapping[str, Any],
                   params: Mapping[str, Any] | None = None) -> WorkflowResult:
    """Run workflow ``name``: ``load`` (returning ``data``), then ``step``."""
    def load(ctx: WorkflowContext, config: Any) -> dict[str, Any]:
        return dict(data)

    return WorkflowRunner().execute(Workflow(name, steps=[Step.lambda_("load", load), step]),
                                    params)
