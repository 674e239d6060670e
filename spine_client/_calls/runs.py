"""Call builders of the run, step, log and artifact operations."""

from __future__ import annotations

from typing import Any

from spine_client._calls.times import Since
from spine_client._core import (
    Call,
    key_path,
    operation,
    parse_json,
    parse_list,
    parse_model,
    path,
    query,
)
from spine_client.models import (
    ArtifactInfo,
    LogPage,
    RunAccepted,
    RunPage,
    RunStatusResponse,
    StepDetail,
    StepStatusSchema,
)


@operation("runs_list")
def runs_list(*, workflow: str | None = None, status: str | None = None, since: Since = None,
              until: Since = None, limit: int = 50, offset: int = 0) -> Call[RunPage]:
    """One page of runs, newest first; ``since``/``until`` bound their creation time."""
    return Call("GET", "/runs", parse_model(RunPage),
                params=query(workflow=workflow, status=status, since=since, until=until,
                             limit=limit, offset=offset))


@operation("runs_get")
def runs_get(run_id: str) -> Call[RunStatusResponse]:
    """A run's status, progress and steps."""
    return Call("GET", path("/runs/{}", run_id), parse_model(RunStatusResponse))


@operation("runs_outputs")
def runs_outputs(run_id: str) -> Call[dict[str, Any]]:
    """The outputs of the run's completed steps, by step name."""
    return Call("GET", path("/runs/{}/outputs", run_id), parse_json)


def _control(action: str, run_id: str) -> Call[RunStatusResponse]:
    return Call("POST", path("/runs/{}/" + action, run_id), parse_model(RunStatusResponse))


@operation("runs_pause")
def runs_pause(run_id: str) -> Call[RunStatusResponse]:
    """Ask a running run to pause after its current steps."""
    return _control("pause", run_id)


@operation("runs_resume")
def runs_resume(run_id: str) -> Call[RunStatusResponse]:
    """Resume a paused run."""
    return _control("resume", run_id)


@operation("runs_cancel")
def runs_cancel(run_id: str) -> Call[RunStatusResponse]:
    """Cancel a run that has not ended."""
    return _control("cancel", run_id)


@operation("runs_retry")
def runs_retry(run_id: str) -> Call[RunAccepted]:
    """Start a new run that retries a failed one from its failed step."""
    return Call("POST", path("/runs/{}/retry", run_id), parse_model(RunAccepted))


@operation("runs_steps")
def runs_steps(run_id: str) -> Call[list[StepStatusSchema]]:
    """The status of each of the run's steps."""
    return Call("GET", path("/runs/{}/steps", run_id), parse_list(StepStatusSchema))


@operation("runs_step")
def runs_step(run_id: str, step: str) -> Call[StepDetail]:
    """One step of a run, with its output once it completed."""
    return Call("GET", path("/runs/{}/steps/{}", run_id, step), parse_model(StepDetail))


@operation("runs_step_replay")
def runs_step_replay(run_id: str, step: str) -> Call[RunAccepted]:
    """Start a new run that replays the run from ``step`` with the earlier outputs."""
    return Call("POST", path("/runs/{}/steps/{}/replay", run_id, step), parse_model(RunAccepted))


@operation("runs_logs", "runs_step_logs")
def runs_log_page(run_id: str, *, step: str | None = None, after_seq: int = 0,
                  limit: int | None = None) -> Call[LogPage]:
    """One page of the run's (or one step's) log lines after ``after_seq``."""
    return Call("GET", log_path(run_id, step), parse_model(LogPage),
                params=query(after_seq=after_seq, limit=limit))


def log_path(run_id: str, step: str | None, *, stream: bool = False) -> str:
    """The path of a run's or a step's log lines, or of their live stream."""
    base = path("/runs/{}", run_id) if step is None else path("/runs/{}/steps/{}", run_id, step)
    return base + ("/logs/stream" if stream else "/logs")


@operation("runs_artifacts")
def runs_artifacts(run_id: str) -> Call[list[ArtifactInfo]]:
    """The artifacts the run's steps stored, with their sizes and checksums."""
    return Call("GET", path("/runs/{}/artifacts", run_id), parse_list(ArtifactInfo))


def artifact_path(run_id: str, key: str) -> str:
    """The path an artifact's bytes download from (its key's ``/`` kept)."""
    return path("/runs/{}/artifacts/", run_id) + key_path(key)
