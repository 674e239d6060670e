"""CLI fixture: loads fine but names a pipeline that nobody registered."""

from __future__ import annotations

from engine import Step, Workflow

orphan = Workflow("cli.orphan", steps=[Step.pipeline("fetch", "cli.no_such_pipeline")])
