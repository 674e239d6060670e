"""``WorkflowCatalog``: search workflow definitions and see each one's run record at a glance.

Definitions (name, domain, tags, schedule, steps) come from code or discovered files; run
statistics come from the store, for all listed workflows in one grouped query, so listing a
catalog of hundreds of workflows costs one scan of ``runs``, not one query per workflow.
Success, failure and duration follow the status semantics in ``engine.analytics``.
"""

from __future__ import annotations

import difflib
import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import registry
from .analytics import _FAILURE_SQL, _FINISHED_SQL
from .cron import CronSchedule
from .errors import WorkflowError
from .results import RunStatus
from .store.records import to_datetime
from .store.runs import StoreLike, open_store
from .workflow import Workflow


class WorkflowNotFoundError(WorkflowError, LookupError):
    """``get_info`` was asked for a workflow the catalog does not hold; ``suggestions`` has
    the closest names."""

    def __init__(self, name: str, suggestions: list[str], known: int) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f"did you mean {', '.join(repr(s) for s in suggestions)}? " if suggestions else ""
        super().__init__(f"no workflow {name!r} in the catalog ({known} workflows); {hint}"
                         "`spine-engine list` shows every workflow")


@dataclass(frozen=True, slots=True)
class WorkflowInfo:
    """One catalog entry: the definition's metadata plus its run statistics over all history.

    Rates and durations are 0.0 while nothing has finished (``total_runs`` tells them apart
    from a real 0.0). ``defined`` is False for a workflow known only from stored runs.
    """

    name: str
    domain: str
    description: str
    step_count: int
    tags: list[str]
    # run statistics
    total_runs: int
    success_rate: float
    avg_duration_seconds: float
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    # schedule
    schedule: str | None
    next_run_at: datetime | None
    # beyond the spec's fields
    version: int | None = None
    last_run_status: RunStatus | None = None
    p50_duration_seconds: float = 0.0
    finished_runs: int = 0
    defined: bool = True
    source: str | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO strings, the status as its value."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        if self.last_run_status is not None:
            data["last_run_status"] = self.last_run_status.value
        return data


_STATS_SQL = f"""
WITH wanted(name) AS (SELECT value FROM json_each(?)),
stats AS (
    SELECT workflow, count(*) AS total_runs,
           count(*) FILTER (WHERE status = 'completed') AS completed,
           count(*) FILTER (WHERE status IN ({_FINISHED_SQL})) AS finished,
           avg(duration_seconds) FILTER (WHERE status = 'completed') AS avg_duration,
           max(created_at) AS last_run_at,
           max(COALESCE(finished_at, created_at)) FILTER (WHERE status = 'completed')
               AS last_success_at,
           max(COALESCE(finished_at, created_at)) FILTER (WHERE status IN ({_FAILURE_SQL}))
               AS last_failure_at
    FROM runs WHERE workflow IN (SELECT name FROM wanted) GROUP BY workflow)
SELECT stats.*, latest.status AS last_status, latest.version AS last_version,
       latest.step_count AS last_step_count
FROM stats
LEFT JOIN runs AS latest ON latest.run_id = (
    SELECT run_id FROM runs AS r WHERE r.workflow = stats.workflow
    ORDER BY r.created_at DESC LIMIT 1)
"""

_DURATIONS_SQL = """
SELECT workflow, duration_seconds FROM runs
WHERE status = 'completed' AND duration_seconds IS NOT NULL
  AND workflow IN (SELECT value FROM json_each(?))
"""


class WorkflowCatalog:
    """Searchable catalog of workflows and their run history in one store.

    ``definitions`` are ``Workflow`` objects or anything with a ``.workflow``
    (``DiscoveredWorkflow``, ``ManagedWorkflow``), or a discovery ``Catalog``; the catalog
    then lists exactly those. Without definitions it lists the registered workflows plus
    every workflow that has stored runs (``defined=False`` for the latter).
    """

    def __init__(self, store: StoreLike | Any = None, definitions: Iterable[Any] | None = None,
                 *, clock: Callable[[], float] = time.time) -> None:
        self.store = open_store(store)
        self._clock = clock
        self._explicit = definitions is not None
        self._definitions: dict[str, tuple[Workflow, str | None]] = {}
        if definitions is None:
            for name in registry.list_workflows():
                self._definitions[name] = (registry.get_workflow(name), "registry")
        else:
            items = getattr(definitions, "workflows", definitions)  # a discovery Catalog
            for item in items:
                workflow = item if isinstance(item, Workflow) else getattr(item, "workflow", None)
                if not isinstance(workflow, Workflow):
                    raise TypeError(f"WorkflowCatalog definitions must be Workflow objects "
                                    f"(or have .workflow), got {type(item).__name__}")
                self._definitions[workflow.name] = (workflow, getattr(item, "source", None))

    def names(self) -> list[str]:
        """Every workflow the catalog holds, sorted."""
        names = set(self._definitions)
        if not self._explicit:
            names.update(row[0] for row in self.store.db.connection().execute(
                "SELECT DISTINCT workflow FROM runs"))
        return sorted(names)

    def search(self, query: str | None = None, domain: str | None = None,
               tags: Iterable[str] | None = None, has_schedule: bool | None = None
               ) -> list[WorkflowInfo]:
        """Workflows matching every given filter, by name.

        ``query``: each whitespace-separated word must occur (case-insensitively) in the
        name, the description or a tag. ``domain``: equal, ignoring case. ``tags``: the
        workflow carries all of them, ignoring case. ``has_schedule``: has a cron schedule
        (True) or none (False).
        """
        words = (query or "").lower().split()
        wanted_tags = {t.lower() for t in (tags or ())}
        matches = []
        for name in self.names():
            workflow = self._definitions.get(name, (None, None))[0]
            description = workflow.description if workflow else ""
            own_tags = list(workflow.tags) if workflow else []
            text = [name.lower(), description.lower(), *(t.lower() for t in own_tags)]
            if words and not all(any(w in part for part in text) for w in words):
                continue
            if domain is not None and (workflow.domain if workflow else "").lower() \
                    != domain.lower():
                continue
            if wanted_tags and not wanted_tags <= {t.lower() for t in own_tags}:
                continue
            if has_schedule is not None and bool(workflow and workflow.schedule) != has_schedule:
                continue
            matches.append(name)
        return self._infos(matches)

    def get_info(self, name: str) -> WorkflowInfo:
        """One workflow's entry; ``WorkflowNotFoundError`` (a ``LookupError``) if unknown."""
        names = self.names()
        if name not in names:
            lowered = {n.lower(): n for n in names}
            close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.5)
            contains = [n for n in names if name.lower() in n.lower()]
            suggestions = list(dict.fromkeys([*(lowered[c] for c in close), *contains]))[:3]
            raise WorkflowNotFoundError(name, suggestions, len(names))
        return self._infos([name])[0]

    # ------------------------------------------------------------------ internals
    def _infos(self, names: list[str]) -> list[WorkflowInfo]:
        if not names:
            return []
        conn, wanted = self.store.db.connection(), json.dumps(names)
        cursor = conn.execute(_STATS_SQL, [wanted])
        columns = [d[0] for d in cursor.description]
        stats = {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}
        durations: dict[str, list[float]] = {}
        for workflow, seconds in conn.execute(_DURATIONS_SQL, [wanted]):
            durations.setdefault(workflow, []).append(seconds)
        for workflow, values in durations.items():
            # the median of the narrow column: cheaper in Python than a window sort in SQL
            stats[workflow]["p50"] = statistics.median(values)
        return [self._info(name, stats.get(name, {})) for name in names]

    def _info(self, name: str, stats: dict[str, Any]) -> WorkflowInfo:
        workflow, source = self._definitions.get(name, (None, None))
        finished = int(stats.get("finished") or 0)
        last_status = stats.get("last_status")
        schedule = workflow.schedule if workflow else None
        return WorkflowInfo(
            name=name,
            domain=workflow.domain if workflow else "",
            description=workflow.description if workflow else "",
            step_count=len(workflow.steps) if workflow else int(stats.get("last_step_count")
                                                                or 0),
            tags=list(workflow.tags) if workflow else [],
            total_runs=int(stats.get("total_runs") or 0),
            success_rate=(stats.get("completed") or 0) / finished if finished else 0.0,
            avg_duration_seconds=float(stats.get("avg_duration") or 0.0),
            last_run_at=to_datetime(stats.get("last_run_at")),
            last_success_at=to_datetime(stats.get("last_success_at")),
            last_failure_at=to_datetime(stats.get("last_failure_at")),
            schedule=schedule,
            next_run_at=self._next_run(schedule),
            version=workflow.version if workflow else stats.get("last_version"),
            last_run_status=RunStatus(last_status) if last_status else None,
            p50_duration_seconds=float(stats.get("p50") or 0.0),
            finished_runs=finished,
            defined=workflow is not None,
            source=source,
        )

    def _next_run(self, schedule: str | None) -> datetime | None:
        """The next fire time of a cron schedule (``CRON_TZ=Zone`` prefix honoured), in UTC."""
        if not schedule:
            return None
        return datetime.fromtimestamp(CronSchedule.parse(schedule).next_after(self._clock()),
                                      UTC)
