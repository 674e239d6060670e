"""``/runs``: the stored runs (paged, filtered), one run's status with its steps and progress,
its outputs and artifacts, and control: pause, resume, cancel, retry, replay a step.

Control goes through the same engine objects as ``spine-engine pause/resume/cancel/retry``
(``RunControl`` for a run in any process; ``start_retry``/``start_resume``/``start_replay``
for new work), so the lifecycle's rules and their messages apply unchanged: a request that
does not fit the run's state is a 409 naming that state.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from engine import (
    LIVE_STATUSES,
    RESUMABLE_STATUSES,
    ArtifactNotFoundError,
    RunHandle,
    RunStatus,
)
from engine.store import ArtifactRecord, RunRecord, StepRecord, UnknownRunError
from spine_client.models import (
    ArtifactInfo,
    RunAccepted,
    RunPage,
    RunStatusResponse,
    RunSummary,
    StepDetail,
    StepStatusSchema,
)

from ..auth import READ, RUN
from ..problems import ApiProblem
from ..responses import json_response
from ..state import ServerState

router = APIRouter(prefix="/runs", tags=["runs"])
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
_ENDED = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED,
                    RunStatus.SKIPPED})


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.spine
    return state


def find_run(state: ServerState, run_id: str) -> RunRecord:
    """The run by its full id (prefixes are a CLI convenience, not an API one)."""
    try:
        record = state.store.get_run(run_id)
    except UnknownRunError:
        record = None
    if record is None or record.run_id != run_id:
        raise ApiProblem(404, f"no run with id {run_id!r}; GET /runs lists the stored runs "
                              "(give the complete id)")
    return record


@router.get("", operation_id="runs_list", dependencies=[READ], response_model=RunPage)
def list_runs(request: Request, workflow: str | None = None, status: RunStatus | None = None,
              since: datetime | None = None, until: datetime | None = None,
              limit: Limit = 50, offset: Offset = 0) -> Response:
    """Runs newest first; ``since`` (inclusive) and ``until`` (exclusive) bound the time each
    run was created."""
    return json_response(run_page(_state(request), workflow, status, since, until, limit,
                                  offset))


@router.get("/{run_id}", operation_id="runs_get", dependencies=[READ],
            response_model=RunStatusResponse)
def get_run(request: Request, run_id: str) -> Response:
    state = _state(request)
    return json_response(status_response(state, find_run(state, run_id)))


@router.get("/{run_id}/outputs", operation_id="runs_outputs", dependencies=[READ])
def run_outputs(request: Request, run_id: str) -> dict[str, Any]:
    """Outputs of the run's completed steps, by step name, in completion order."""
    state = _state(request)
    return state.store.outputs(find_run(state, run_id).run_id)


@router.post("/{run_id}/pause", operation_id="runs_pause", status_code=202, dependencies=[RUN])
def pause_run(request: Request, run_id: str) -> RunStatusResponse:
    """Ask the run to start no new step (running steps finish); ``resume`` lets it go on."""
    state = _state(request)
    state.control.pause(find_run(state, run_id).run_id)
    return status_response(state, state.store.get_run(run_id))


@router.post("/{run_id}/resume", operation_id="runs_resume", status_code=202,
             dependencies=[RUN])
def resume_run(request: Request, run_id: str) -> RunStatusResponse:
    """Un-pause a paused run; continue a failed, cancelled or interrupted one under its own id
    from the steps that completed."""
    state = _state(request)
    record = state.control.status(find_run(state, run_id).run_id)
    if record.status in LIVE_STATUSES:
        state.control.resume_paused(record.run_id)
    elif record.status in RESUMABLE_STATUSES:
        state.resume(record.run_id)
    else:
        raise ApiProblem(409, f"run {run_id} is {record.status.value}; only paused, failed, "
                              "cancelled or interrupted runs can be resumed")
    return status_response(state, state.store.get_run(run_id))


@router.post("/{run_id}/cancel", operation_id="runs_cancel", status_code=202,
             dependencies=[RUN])
def cancel_run(request: Request, run_id: str) -> RunStatusResponse:
    """Stop the run: running steps finish, nothing new starts."""
    state = _state(request)
    state.control.cancel(find_run(state, run_id).run_id)
    return status_response(state, state.store.get_run(run_id))


@router.post("/{run_id}/retry", operation_id="runs_retry", status_code=202, dependencies=[RUN])
def retry_run(request: Request, run_id: str) -> RunAccepted:
    """Re-run a stopped run from its failed step, as a new run linked to this one."""
    state = _state(request)
    return accepted(state.retry(find_run(state, run_id).run_id), "api")


@router.get("/{run_id}/steps", operation_id="runs_steps", dependencies=[READ])
def list_steps(request: Request, run_id: str) -> list[StepStatusSchema]:
    state = _state(request)
    return [_step(s) for s in state.store.step_runs(find_run(state, run_id).run_id)]


@router.get("/{run_id}/steps/{step}", operation_id="runs_step", dependencies=[READ])
def get_step(request: Request, run_id: str, step: str) -> StepDetail:
    state = _state(request)
    record = find_run(state, run_id)
    found = next((s for s in state.store.step_runs(record.run_id) if s.step == step), None)
    if found is None:
        raise ApiProblem(404, f"run {run_id} has no step {step!r} (it has not started, or "
                              "the workflow has no such step)")
    outputs = state.store.outputs(record.run_id)
    lines = state.store.db.scalar("SELECT count(*) FROM logs WHERE run_id = ? AND step = ?",
                                  [record.run_id, step])
    return StepDetail(**_step(found).model_dump(), run_id=record.run_id,
                      error_type=found.error_type, output=outputs.get(step),
                      log_lines=int(lines or 0))


@router.post("/{run_id}/steps/{step}/replay", operation_id="runs_step_replay",
             status_code=202, dependencies=[RUN])
def replay_step(request: Request, run_id: str, step: str) -> RunAccepted:
    """Run one step again with its recorded inputs, as a new one-step run."""
    state = _state(request)
    return accepted(state.replay(find_run(state, run_id).run_id, step), "api")


# ---------------------------------------------------------------------- artifacts
@router.get("/{run_id}/artifacts", operation_id="runs_artifacts", dependencies=[READ])
def list_artifacts(request: Request, run_id: str) -> list[ArtifactInfo]:
    state = _state(request)
    return [_artifact(a) for a in state.store.artifacts(find_run(state, run_id).run_id)]


@router.get("/{run_id}/artifacts/{key:path}", operation_id="runs_artifact_download",
            dependencies=[READ], response_class=StreamingResponse,
            responses={200: {"content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}}})
def download_artifact(request: Request, run_id: str, key: str) -> StreamingResponse:
    """The artifact's bytes, streamed; ``X-Checksum-SHA256`` carries the hash recorded when
    the step wrote it (the stream stops short if the bytes on disk no longer match)."""
    state = _state(request)
    record = next((a for a in state.store.artifacts(find_run(state, run_id).run_id)
                   if a.key == key), None)
    if record is None:
        raise ApiProblem(404, f"run {run_id} recorded no artifact {key!r}")
    chunks, first = None, b""
    for store in state.artifact_stores():
        try:
            chunks = store.iter_chunks(replace(record.to_ref(), store=store.name))
            first = next(chunks, b"")  # a missing object fails here, before headers are sent
            break
        except ArtifactNotFoundError:
            continue
    if chunks is None:
        raise ApiProblem(404, f"artifact {key!r} of run {run_id} is recorded, but its bytes "
                              "are in none of the server's artifact stores")
    rest = chunks

    def stream() -> Any:
        yield first
        yield from rest

    headers = {"X-Checksum-SHA256": record.checksum, "Content-Length": str(record.size_bytes),
               "ETag": f'"{record.checksum}"'}
    return StreamingResponse(stream(), media_type=record.content_type or
                             "application/octet-stream", headers=headers)


# ---------------------------------------------------------------------- views
def run_page(state: ServerState, workflow: str | None, status: Any, since: Any, until: Any,
             limit: int, offset: int) -> RunPage:
    """One page of runs; ``next_offset`` is set when another page follows."""
    rows = state.store.list_runs(workflow, str(status.value if isinstance(status, RunStatus)
                                               else status) if status else None,
                                 limit=limit + 1, offset=offset, since=_epoch(since),
                                 until=_epoch(until))
    more = len(rows) > limit
    return RunPage(items=[summary(r) for r in rows[:limit]], limit=limit, offset=offset,
                   next_offset=offset + limit if more else None)


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value)).timestamp()


def accepted(handle: RunHandle, started_by: str) -> RunAccepted:
    return RunAccepted(run_id=handle.run_id, workflow_name=handle.workflow, status="pending",
                       started_by=started_by)


def summary(record: RunRecord) -> RunSummary:
    return RunSummary(run_id=record.run_id, workflow_name=record.workflow,
                      status=record.status.value, started_by=record.started_by,
                      created_at=record.created_at, started_at=record.started_at,
                      completed_at=record.finished_at, duration_seconds=record.duration_seconds,
                      partition_key=record.partition_key, parent_run_id=record.parent_run_id,
                      version=record.version, error=record.error)


def status_response(state: ServerState, record: RunRecord) -> RunStatusResponse:
    """The run with its steps (map items left out), progress and the step running now."""
    steps = [s for s in state.store.step_runs(record.run_id) if not s.is_map_item]
    total = max(record.step_count or 0, len(steps))
    done = sum(s.status in _ENDED for s in steps)
    running = [s for s in steps if s.status is RunStatus.RUNNING]
    progress = 1.0 if record.status is RunStatus.COMPLETED else (done / total if total else 0.0)
    current = max(running, key=lambda s: s.started_at.timestamp() if s.started_at else 0.0
                  ).step if running else None
    return RunStatusResponse(**summary(record).model_dump(), params=record.params,
                             error_step=record.error_step, current_step=current,
                             progress=min(progress, 1.0), steps=[_step(s) for s in steps])


def _step(record: StepRecord) -> StepStatusSchema:
    return StepStatusSchema(name=record.step, status=record.status.value,
                            attempts=record.attempts, started_at=record.started_at,
                            completed_at=record.finished_at,
                            duration_seconds=record.duration_seconds, error=record.error,
                            error_category=record.error_category,
                            child_run_id=record.child_run_id)


def _artifact(record: ArtifactRecord) -> ArtifactInfo:
    return ArtifactInfo(key=record.key, step=record.step, size_bytes=record.size_bytes,
                        content_type=record.content_type, sha256=record.checksum,
                        created_at=record.created_at)
