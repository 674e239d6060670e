"""CLI fixture: two steps write artifacts to the default local store and return their refs."""

from __future__ import annotations

from engine import LocalArtifactStore, Step, StepResult, Workflow
from engine.artifacts import default_artifact_root


def _store() -> LocalArtifactStore:
    return LocalArtifactStore(default_artifact_root())


def extract(ctx, config):
    ref = _store().put_json(f"runs/{ctx.run_id}/rows.json", {"rows": list(range(100))},
                            run_id=ctx.run_id, step="extract")
    return StepResult.ok(output={"rows": ref, "count": 100})


def report(ctx, config):
    ref = _store().put(f"runs/{ctx.run_id}/report.txt", b"all good\n", content_type="text/plain",
                       run_id=ctx.run_id, step="report")
    return StepResult.ok(output={"files": [ref]})


artifacts = Workflow(
    "cli.artifacts",
    steps=[Step.lambda_("extract", extract), Step.lambda_("report", report)],
    domain="testing",
)
