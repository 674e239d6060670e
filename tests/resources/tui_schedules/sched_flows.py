"""Fixture for the schedules screen: a workflow that declares a schedule, and one a webhook
trigger (declared beside it) and an API schedule start."""

from __future__ import annotations

from engine import EventTrigger, Step, WebhookSource, Workflow


def summarise(day: str | None = None) -> dict:
    return {"summary": day or "today"}


def ingest(scheduled_at: str | None = None) -> dict:
    return {"ingested": scheduled_at}


report = Workflow("sched.report", steps=[Step.from_function("summarise", summarise)],
                  schedule="0 6 * * *")

ingest_flow = Workflow("sched.ingest", steps=[Step.from_function("ingest", ingest)])

pushed = EventTrigger("sched.pushed", WebhookSource(secret="SCHED_TEST_SECRET"), "sched.ingest",
                      filter="$.ref == 'refs/heads/main'")
