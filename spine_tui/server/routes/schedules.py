"""``/schedules`` (and the spec's ``/workflows/{name}/schedule``): cron schedules the server
fires, stored in the run store, so ``spine-engine schedules`` and the workbench see the same.

A workflow's own schedule (``Workflow.schedule``, YAML ``schedule:``) is listed with
``declared_in: workflow`` and is changed in its file; it may be paused and resumed here but not
deleted. A bad cron expression or time zone is a 422 naming the field.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from engine import CronError, ScheduleError, Schedules
from engine.store import ScheduleRecord
from spine_client.models import CreateScheduleRequest, RunAccepted, ScheduleResponse

from ..auth import ADMIN, READ, RUN
from ..problems import ApiProblem
from ..state import ServerState

router = APIRouter(tags=["schedules"])


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.spine
    return state


def _schedules(state: ServerState) -> Schedules:
    return state.schedules.schedules if state.schedules is not None else Schedules(state.store)


@router.get("/schedules", operation_id="schedules_list", dependencies=[READ])
def list_schedules(request: Request) -> list[ScheduleResponse]:
    state = _state(request)
    return [_response(state, r) for r in _schedules(state).list_schedules()]


@router.post("/schedules", operation_id="schedules_create", status_code=201,
             dependencies=[ADMIN])
def create_schedule(request: Request, workflow: str,
                    body: CreateScheduleRequest) -> ScheduleResponse:
    """A new schedule of ``workflow`` (``body.name`` defaults to the workflow's name)."""
    return _create(_state(request), workflow, body)


@router.get("/schedules/{name}", operation_id="schedules_get", dependencies=[READ])
def get_schedule(request: Request, name: str) -> ScheduleResponse:
    state = _state(request)
    return _response(state, _schedules(state).get(name))


@router.delete("/schedules/{name}", operation_id="schedules_delete", status_code=204,
               dependencies=[ADMIN])
def delete_schedule(request: Request, name: str) -> Response:
    _delete(_state(request), name)
    return Response(status_code=204)


@router.post("/schedules/{name}/pause", operation_id="schedules_pause", dependencies=[ADMIN])
def pause_schedule(request: Request, name: str) -> ScheduleResponse:
    """Stop firing until resumed (fires due meanwhile are not made up for)."""
    state = _state(request)
    return _response(state, _schedules(state).pause(name))


@router.post("/schedules/{name}/resume", operation_id="schedules_resume", dependencies=[ADMIN])
def resume_schedule(request: Request, name: str) -> ScheduleResponse:
    state = _state(request)
    return _response(state, _schedules(state).resume(name))


@router.post("/schedules/{name}/fire", operation_id="schedules_fire", status_code=202,
             dependencies=[RUN])
def fire_schedule(request: Request, name: str) -> RunAccepted:
    """Fire the schedule now (its timetable stays as it is)."""
    state = _state(request)
    state.require_accepting()
    if state.schedules is None:
        raise ApiProblem(503, "the schedule loop is not running", headers={"Retry-After": "5"})
    fire = state.schedules.fire_now(name)
    if fire.run_id is None:
        raise ApiProblem(409, f"schedule {name!r} could not start a run: {fire.error}")
    return RunAccepted(run_id=fire.run_id, workflow_name=fire.workflow, status="pending",
                       started_by=f"schedule:{name}")


@router.post("/workflows/{name}/schedule", operation_id="workflows_schedule_create",
             status_code=201, dependencies=[ADMIN], tags=["workflows"])
def schedule_workflow(request: Request, name: str,
                      body: CreateScheduleRequest) -> ScheduleResponse:
    """The spec's form of ``POST /schedules?workflow=NAME``."""
    return _create(_state(request), name, body)


@router.delete("/workflows/{name}/schedule", operation_id="workflows_schedule_delete",
               status_code=204, dependencies=[ADMIN], tags=["workflows"])
def unschedule_workflow(request: Request, name: str) -> Response:
    """Delete the API schedules of workflow ``name`` (404 when it has none)."""
    state = _state(request)
    mine = [r for r in _schedules(state).list_schedules()
            if r.workflow == name and r.declared_in == "api"]
    if not mine:
        raise ApiProblem(404, f"workflow {name!r} has no schedule created through the API")
    for record in mine:
        _delete(state, record.name)
    return Response(status_code=204)


def _create(state: ServerState, workflow: str, body: CreateScheduleRequest) -> ScheduleResponse:
    state.workflow(workflow)  # 404 for a workflow the server does not have
    try:
        record = _schedules(state).create(
            body.name or workflow, workflow, body.cron, timezone=body.timezone,
            params=body.params, misfire=body.misfire, misfire_limit=body.misfire_limit,
            enabled=body.enabled)
    except (CronError, ScheduleError) as exc:
        field = getattr(exc, "field", None) or "cron"
        raise ApiProblem(422, str(exc), errors=[{"loc": ["body", field], "msg": str(exc)}]
                         ) from None
    return _response(state, record)


def _delete(state: ServerState, name: str) -> None:
    try:
        _schedules(state).delete(name)
    except ScheduleError as exc:
        raise ApiProblem(409, str(exc)) from None


def _response(state: ServerState, record: ScheduleRecord) -> ScheduleResponse:
    status = None
    if record.last_run_id:
        try:
            status = state.store.get_run(record.last_run_id).status.value
        except LookupError:  # the run was pruned by retention
            status = None
    return ScheduleResponse(name=record.name, workflow_name=record.workflow, cron=record.cron,
                            timezone=record.timezone, params=record.params,
                            enabled=record.enabled, misfire=record.misfire,
                            declared_in=record.declared_in, next_fire_at=record.next_fire,
                            last_fire_at=record.last_fire, last_run_id=record.last_run_id,
                            last_run_status=status)
