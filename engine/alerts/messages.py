"""What an alert says: the JSON a webhook receives, whose ``title`` and ``text`` the Slack,
e-mail and console channels show. Decided once, when the alert is queued."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..steps import ApprovalGate

ICONS = {"failure": "❌", "slow": "🐢", "approval": "✋", "interrupted": "⚠️"}


def failure_alert(*, run_id: str, workflow: str, at: datetime, status: str,
                  error: str | None, error_step: str | None, category: str | None,
                  duration_seconds: float) -> dict[str, Any]:
    """A run ended ``failed``."""
    where = f" at step {error_step}" if error_step else ""
    why = f" ({category})" if category else ""
    text = f"{ICONS['failure']} workflow {workflow} run {run_id} failed{where}{why}"
    if error:
        text += f": {_first_line(error)}"
    return {"kind": "failure", "workflow": workflow, "run_id": run_id, "status": status,
            "title": f"[spine] {workflow} failed", "text": text, "error": error,
            "error_step": error_step, "category": category,
            "duration_seconds": round(duration_seconds, 3), "at": at.isoformat()}


def interrupted_alert(*, run_id: str, workflow: str, at: datetime) -> dict[str, Any]:
    """The process running a run stopped before it ended (armed when the run starts, sent
    when a reader finds it interrupted; ``at`` is then reset to that moment)."""
    text = (f"{ICONS['interrupted']} workflow {workflow} run {run_id} was interrupted: the "
            f"process running it stopped. `spine-engine resume {run_id}` continues it.")
    return {"kind": "interrupted", "workflow": workflow, "run_id": run_id,
            "status": "interrupted", "title": f"[spine] {workflow} was interrupted",
            "text": text, "resume_command": f"spine-engine resume {run_id}",
            "at": at.isoformat()}


def slow_alert(*, run_id: str, workflow: str, at: datetime, status: str,
               duration_seconds: float, threshold_seconds: float) -> dict[str, Any]:
    """A run passed its workflow's ``slow_threshold_seconds`` (``status`` says whether it has
    ended by now)."""
    verb = "has been running for" if status == "running" else f"{status} after"
    text = (f"{ICONS['slow']} workflow {workflow} run {run_id} {verb} "
            f"{duration_seconds:.1f}s (slow threshold {threshold_seconds:g}s)")
    return {"kind": "slow", "workflow": workflow, "run_id": run_id, "status": status,
            "title": f"[spine] {workflow} is slow", "text": text,
            "duration_seconds": round(duration_seconds, 3),
            "threshold_seconds": threshold_seconds, "at": at.isoformat()}


def approval_alert(*, run_id: str, workflow: str, at: datetime, step: str,
                   gate: ApprovalGate | None) -> dict[str, Any]:
    """An approval step started waiting; says who may decide and how."""
    message = gate.message if gate else ""
    approvers = list(gate.approvers) if gate else []
    command = f"spine-engine approve {run_id} {step} --by NAME"
    text = f"{ICONS['approval']} workflow {workflow} run {run_id} waits for approval of {step}"
    if message:
        text += f": {message}"
    if approvers:
        text += f" (approvers: {', '.join(approvers)})"
    text += f". Approve with `{command}` or reject with `spine-engine reject {run_id} {step}`."
    return {"kind": "approval", "workflow": workflow, "run_id": run_id, "status": "waiting",
            "title": f"[spine] {workflow} waits for approval of {step}", "text": text,
            "step": step, "message": message, "approvers": approvers,
            "approve_command": command, "at": at.isoformat()}


def _first_line(text: str, width: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"
