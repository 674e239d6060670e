"""Trigger fixture: a workflow started by a signed GitHub-style webhook (spec §7's example)."""

from __future__ import annotations

from engine import EventTrigger, Step, WebhookSource, Workflow


def build(commit: str | None = None, repo: str | None = None) -> dict:
    return {"built": commit, "repo": repo}


ci = Workflow("trig.ci", steps=[Step.from_function("build", build)])

github_push = EventTrigger(
    name="trig.github_push",
    event_source=WebhookSource(
        path="/hooks/github",
        secret="TRIG_TEST_SECRET",
    ),
    workflow_name="trig.ci",
    filter="$.ref == 'refs/heads/main'",
    param_mapping={
        "commit": "$.after",
        "repo": "$.repository.full_name",
    },
)

paused_push = EventTrigger(
    name="trig.paused_push",
    event_source=WebhookSource(secret="TRIG_TEST_SECRET"),
    workflow_name="trig.ci",
    param_mapping={"commit": "$.after"},
    enabled=False,
)
