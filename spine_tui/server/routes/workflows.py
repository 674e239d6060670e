"""``/workflows``: the catalog, workflow CRUD from YAML or JSON, versions and rollback, and
starting a run.

Definitions live in files, as everywhere else in spine: a workflow created through the API is
written as ``<name>.yaml`` in the server's managed folder (``$SPINE_HOME/workflows`` unless
``--workflows-dir``), which is watched like the other folders, so the new definition is in
the catalog at once and its version is published. Only those files may be replaced or deleted
over HTTP; a workflow defined in someone's Python or YAML file answers 409 and names the file
to edit instead.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam

from engine import DiscoveredWorkflow, RunStatus, WorkflowSpec, WorkflowSpecError
from engine.hot_reload import LOAD_LOCK
from spine_client.models import (
    CreateWorkflowRequest,
    RollbackRequest,
    RunAccepted,
    RunPage,
    RunRequest,
    StepInfo,
    WorkflowDetail,
    WorkflowSummary,
    WorkflowVersionDetail,
    WorkflowVersionResponse,
)

from ..auth import ADMIN, READ, RUN
from ..problems import ApiProblem
from ..responses import json_response
from ..state import ServerState
from .runs import accepted, run_page

router = APIRouter(prefix="/workflows", tags=["workflows"])
Name = Annotated[str, "a workflow name"]


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.spine
    return state


@router.get("", operation_id="workflows_list", dependencies=[READ])
def list_workflows(request: Request) -> list[WorkflowSummary]:
    """Every workflow the server can run, as loaded from its folders."""
    state = _state(request)
    return [_summary(state, item) for item in state.catalog.current().workflows]


@router.post("", operation_id="workflows_create", status_code=201, dependencies=[ADMIN])
def create_workflow(request: Request, body: CreateWorkflowRequest) -> WorkflowDetail:
    """Create a workflow from a YAML document or the same document as JSON."""
    state = _state(request)
    spec, text = _parse(body)
    if state.catalog.current().get(spec.name) is not None:
        raise ApiProblem(409, f"a workflow named {spec.name!r} already exists; PUT "
                              f"/workflows/{spec.name} replaces it")
    return _write(state, spec, text)


@router.get("/{name}", operation_id="workflows_get", dependencies=[READ])
def get_workflow(request: Request, name: Name) -> WorkflowDetail:
    state = _state(request)
    return _detail(state, state.workflow(name))


@router.put("/{name}", operation_id="workflows_update", dependencies=[ADMIN])
def update_workflow(request: Request, name: Name, body: CreateWorkflowRequest) -> WorkflowDetail:
    """Replace a workflow the API manages (its name must stay the same)."""
    state = _state(request)
    _editable(state, state.workflow(name))
    spec, text = _parse(body)
    if spec.name != name:
        raise ApiProblem(422, f"the document names workflow {spec.name!r}, not {name!r}; "
                              "rename by creating the new name and deleting the old one")
    return _write(state, spec, text)


@router.delete("/{name}", operation_id="workflows_delete", status_code=204,
               dependencies=[ADMIN])
def delete_workflow(request: Request, name: Name) -> Response:
    """Remove a workflow the API manages; its runs and versions stay in the store."""
    state = _state(request)
    path = _editable(state, state.workflow(name))
    path.unlink(missing_ok=True)
    state.catalog.reload(path)
    return Response(status_code=204)


@router.get("/{name}/yaml", operation_id="workflows_yaml", dependencies=[READ],
            response_class=Response,
            responses={200: {"content": {"application/yaml": {"schema": {"type": "string"}}}}})
def workflow_yaml(request: Request, name: Name) -> Response:
    """The workflow as a ``spine.io/v1`` YAML document (what ``POST /workflows`` reads)."""
    item = _state(request).workflow(name)
    try:
        text = WorkflowSpec.from_workflow(item.workflow).to_yaml()
    except WorkflowSpecError as exc:
        raise ApiProblem(409, f"{name} cannot be exported as YAML: {exc}") from None
    return Response(text, media_type="application/yaml")


# ---------------------------------------------------------------------- versions
@router.get("/{name}/versions", operation_id="workflows_versions", dependencies=[READ])
def list_versions(request: Request, name: Name) -> list[WorkflowVersionResponse]:
    return [_version(v) for v in _state(request).versions.list(name)]


@router.get("/{name}/versions/{version}", operation_id="workflows_version", dependencies=[READ])
def get_version(request: Request, name: Name,
                version: Annotated[int, PathParam(ge=1, le=2**31)]) -> WorkflowVersionDetail:
    info = _state(request).versions.get(name, version)
    return WorkflowVersionDetail(**_version(info).model_dump(), definition=info.definition)


@router.post("/{name}/rollback", operation_id="workflows_rollback", dependencies=[ADMIN])
def rollback(request: Request, name: Name, body: RollbackRequest) -> WorkflowVersionResponse:
    """Publish an old version's definition again as the latest; a workflow the API manages
    also gets its file rewritten, so the catalog runs the restored definition."""
    state = _state(request)
    info = state.versions.rollback(name, body.version, created_by="api")
    item = state.catalog.current().get(name)
    if item is not None and _managed_path(state, item) is not None:
        _write(state, info.spec(), info.to_yaml())
    return _version(info)


# ---------------------------------------------------------------------- runs
@router.post("/{name}/run", operation_id="workflows_run", status_code=202, dependencies=[RUN])
def run_workflow(request: Request, name: Name, body: RunRequest | None = None) -> RunAccepted:
    """Start a run; answers once the run is stored (poll ``/runs/{run_id}``)."""
    body = body or RunRequest()
    handle = _state(request).start(name, body.params, partition=body.partition)
    return accepted(handle, "api")


@router.get("/{name}/runs", operation_id="workflows_runs", dependencies=[READ],
            response_model=RunPage)
def workflow_runs(request: Request, name: Name, status: RunStatus | None = None,
                  since: datetime | None = None, until: datetime | None = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    return json_response(run_page(_state(request), name, status, since, until, limit, offset))


# ---------------------------------------------------------------------- helpers
def _parse(body: CreateWorkflowRequest) -> tuple[WorkflowSpec, str]:
    """The document and its YAML text; errors are 422 with the document's line numbers."""
    if body.yaml_content is not None:
        text = body.yaml_content
        spec = WorkflowSpec.from_yaml(text, source="<request body>")
    else:
        text = yaml.safe_dump(json.loads(json.dumps(body.definition)), sort_keys=False)
        spec = WorkflowSpec.from_yaml(text, source="<request definition>")
    with LOAD_LOCK:
        spec.to_workflow()  # unknown handlers, cycles...: refused before anything is written
    return spec, text


def _write(state: ServerState, spec: WorkflowSpec, text: str) -> WorkflowDetail:
    """Write the document into the managed folder and merge it into the catalog now."""
    path = state.config.managed_dir / f"{spec.name}.yaml"
    temporary = path.with_suffix(".yaml.tmp")
    temporary.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    temporary.replace(path)
    catalog = state.catalog.reload(path)
    item = catalog.get(spec.name)
    if item is None:  # it loaded in _parse, so only a race with another writer gets here
        raise ApiProblem(409, f"{spec.name} was written to {path} but did not load; see "
                              "the server log")
    return _detail(state, item)


def _managed_path(state: ServerState, item: DiscoveredWorkflow) -> Path | None:
    path = Path(item.source)
    managed = state.config.managed_dir.resolve()
    if item.kind == "yaml" and path.resolve().parent == managed:
        return path
    return None


def _editable(state: ServerState, item: DiscoveredWorkflow) -> Path:
    path = _managed_path(state, item)
    if path is None:
        raise ApiProblem(409, f"{item.name} is defined in {item.source}, which the API does not "
                              "manage; edit that file (the server reloads it on save)")
    return path


def _latest_version(state: ServerState, name: str) -> int | None:
    value = state.store.db.scalar("SELECT max(version) FROM workflow_versions WHERE name = ?",
                                  [name])
    return int(value) if value is not None else None


def _summary(state: ServerState, item: DiscoveredWorkflow) -> WorkflowSummary:
    wf = item.workflow
    return WorkflowSummary(name=wf.name, domain=wf.domain, description=wf.description,
                           tags=list(wf.tags), schedule=wf.schedule, step_count=len(wf.steps),
                           source=item.source, version=_latest_version(state, wf.name),
                           editable=_managed_path(state, item) is not None)


def _detail(state: ServerState, item: DiscoveredWorkflow) -> WorkflowDetail:
    wf = item.workflow
    steps = [StepInfo(name=s.name, type=s.step_type.value, depends_on=list(wf.dependencies(s.name)),
                      description=getattr(s, "description", "") or "") for s in wf.steps]
    return WorkflowDetail(**_summary(state, item).model_dump(), steps=steps,
                          definition=_definition(wf))


def _definition(workflow: Any) -> dict[str, Any]:
    try:
        return WorkflowSpec.from_workflow(workflow).to_dict()
    except WorkflowSpecError:  # lambdas and closures: described, though not as a document
        data: dict[str, Any] = json.loads(json.dumps(workflow.to_dict(), default=str))
        return data


def _version(info: Any) -> WorkflowVersionResponse:
    return WorkflowVersionResponse(version=info.version, created_at=info.created_at,
                                   created_by=info.created_by or "", changes=list(info.changes),
                                   checksum=info.checksum,
                                   rolled_back_from=info.rolled_back_from)
