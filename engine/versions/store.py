"""``WorkflowVersionStore``: append-only history of workflow definitions (spec §9).

A version is the workflow's declarative definition: the ``spine.io/v1`` document
(``WorkflowSpec``) when every handler is an importable function, else ``Workflow.to_dict()``
(handler refs only), stored with ``replayable = 0`` since it can be listed and diffed but not
rebuilt. Handler code is not part of a definition: editing a function's body is not a new
version, renaming or swapping the function is.

Decisions where the spec is silent: the checksum (SHA-256 of sorted-key JSON) leaves out the
version number, so bumping ``version:`` alone publishes nothing; ``publish`` dedupes against
the latest version only (publishing an older definition again is a change, like ``git
revert``), while ``version_for_run`` reuses the newest version with the same definition so
alternating runs of two files do not churn versions. A changed definition becomes
``latest + 1``, or the workflow's own ``version`` when that is higher. ``rollback`` appends
the old definition as a new version and records ``rolled_back_from``; rolling back to what
is already latest returns the latest unchanged.

Migration info (the spec's ``migrated_from``, ``migration_script``): ``migrated_from`` is the
version that was latest when a version was published (None for the first one); versions are
append-only and numbered upwards, so it is the previous row and is read, not stored. A
``migration_script`` (Python source, checked to compile; recorded for the audit trail, never
run: a run stays on the version it started with) is kept in the stored definition JSON under
``x-spine-version``, left out of the checksum, the diff and ``VersionInfo.definition``; rows
published without one are stored exactly as before.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import WorkflowSpecError
from ..serialization import to_json
from ..store.db import Database
from ..store.records import to_datetime
from ..store.runs import RunStore
from ..store.schema import StoreError
from ..workflow import Workflow
from .diff import FieldChange, StepChange, VersionDiff, diff_definitions, step_count

if TYPE_CHECKING:  # the pydantic models take ~85 ms to build: imported where used
    from ..spec import WorkflowSpec


class UnknownVersionError(StoreError, LookupError):
    """No published version has that workflow name or version number."""


class VersionNotReplayableError(StoreError):
    """The version's handlers are lambdas/closures: it can be listed and diffed, not rebuilt."""


class MigrationScriptError(StoreError, ValueError):
    """A migration script that does not compile, or that names no change of definition."""


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One published version of a workflow (a read-only view of a ``workflow_versions`` row).

    ``changes`` summarises what differs from the previous version, as short human strings;
    ``migrated_from`` is that previous version (None for the first) and ``migration_script``
    the Python source published with this one, if any (see the module docstring).
    """

    name: str
    version: int
    checksum: str
    definition: dict[str, Any]
    created_at: datetime
    created_by: str | None = None
    source: str | None = None
    changelog: str | None = None
    replayable: bool = True
    rolled_back_from: int | None = None
    changes: tuple[str, ...] = field(default=())
    migrated_from: int | None = None
    migration_script: str | None = None

    @property
    def workflow_name(self) -> str:
        """The spec's name for ``name``."""
        return self.name

    @property
    def step_count(self) -> int:
        return step_count(self.definition)

    def spec(self) -> WorkflowSpec:
        """The definition as a ``WorkflowSpec`` document (replayable versions only)."""
        if not self.replayable:
            raise VersionNotReplayableError(
                f"{self.name} v{self.version} cannot be rebuilt: its steps use lambdas, closures "
                "or nested functions, stored only as references; define the handlers with `def` "
                "at module level and publish again to get a replayable version")
        return _workflow_spec().model_validate(self.definition)

    def to_workflow(self) -> Workflow:
        """Rebuild the runtime ``Workflow`` of this version (imports its handlers)."""
        return self.spec().to_workflow()

    def to_yaml(self) -> str:
        return self.spec().to_yaml()

    def to_dict(self, definition: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name, "version": self.version, "checksum": self.checksum,
            "created_at": self.created_at.isoformat(), "created_by": self.created_by,
            "source": self.source, "changelog": self.changelog, "replayable": self.replayable,
            "rolled_back_from": self.rolled_back_from, "step_count": self.step_count,
            "changes": list(self.changes), "migrated_from": self.migrated_from,
            "migration_script": self.migration_script}
        if definition:
            data["definition"] = self.definition
        return data


# ---------------------------------------------------------------------- definitions
def _as_workflow(workflow: Workflow | Any) -> Workflow:
    return workflow if isinstance(workflow, Workflow) else workflow.workflow


_CANONICAL_CACHE: dict[str, tuple[dict[str, Any], bool]] = {}


def canonical_definition(workflow: Workflow | Any) -> tuple[dict[str, Any], bool]:
    """The stored form of a workflow (plain JSON data, shared: do not mutate) and whether it
    can be rebuilt from it.

    Memoised on a fingerprint of ``Workflow.to_dict()``, which holds the same declarations:
    building the document through pydantic costs ~8 ms per 1,000 steps, paid on every run.
    """
    wf = _as_workflow(workflow)
    # the handlers' reprs too: a calculation or data step's settings live on its handler
    # object, which ``to_dict`` names only by class
    key = hashlib.sha256(json.dumps([wf.to_dict(), _handler_prints(wf.steps)], sort_keys=True,
                                    default=repr).encode("utf-8")).hexdigest()
    cached = _CANONICAL_CACHE.get(key)
    if cached is None:
        if len(_CANONICAL_CACHE) >= 256:
            _CANONICAL_CACHE.clear()
        cached = _CANONICAL_CACHE[key] = _build_definition(wf)
    return cached


def _handler_prints(steps: Any) -> list[Any]:
    """Each step's handler as its repr (a map's inner steps nested), for the memo key."""
    return [[repr(s.handler), _handler_prints(s.iterator_steps)] for s in steps]


def _workflow_spec() -> type[WorkflowSpec]:
    # deliberate lazy load, not a cycle: building the pydantic models costs ~85 ms, paid on
    # the first publish instead of by every ``import engine``
    from ..spec import WorkflowSpec  # deliberate lazy load (see above)

    return WorkflowSpec


def _build_definition(wf: Workflow) -> tuple[dict[str, Any], bool]:
    try:
        doc, replayable = _workflow_spec().from_workflow(wf).to_dict(), True
    except WorkflowSpecError:
        doc, replayable = wf.to_dict(), False
    try:
        return json.loads(to_json(doc)), replayable
    except (TypeError, ValueError):  # config holding objects JSON cannot encode
        return json.loads(json.dumps(doc, default=_opaque)), False


def _opaque(value: Any) -> str:
    """A stable stand-in (no memory address) so such a config does not change every run."""
    return f"<{type(value).__module__}.{type(value).__qualname__}>"


def _with_version(definition: dict[str, Any], version: int | None) -> dict[str, Any]:
    """A copy with the version number set (or removed when ``version`` is None)."""
    doc = dict(definition)
    holder = doc
    if "apiVersion" in doc:
        holder = doc["metadata"] = dict(doc.get("metadata") or {})
    holder.pop("version", None)
    if version is not None:
        holder["version"] = version
    return doc


#: where a row's own metadata (not part of the workflow) sits in the stored definition JSON
_META_KEY = "x-spine-version"


def _stored_json(definition: dict[str, Any], migration_script: str | None) -> str:
    doc = definition if migration_script is None else {
        **definition, _META_KEY: {"migration_script": migration_script}}
    return _canonical_json(doc)


def _split(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A stored definition and the row metadata kept beside it (see ``_META_KEY``)."""
    doc = json.loads(text)
    meta = doc.pop(_META_KEY, None)
    return doc, meta if isinstance(meta, dict) else {}


def _checked_script(name: str, script: str | None) -> str | None:
    if script is None:
        return None
    if not isinstance(script, str):
        raise MigrationScriptError(f"the migration script of {name!r} must be Python source "
                                   f"text, got {type(script).__name__}")
    try:
        compile(script, f"<migration script of {name}>", "exec")
    except SyntaxError as exc:
        raise MigrationScriptError(f"the migration script of {name!r} does not compile: "
                                   f"{exc.msg} (line {exc.lineno}); nothing was published"
                                   ) from None
    return script


def _canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def checksum_of(definition: dict[str, Any]) -> str:
    """SHA-256 of a definition's canonical JSON, ignoring its version number."""
    text = _canonical_json(_with_version(definition, None))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def definition_checksum(workflow: Workflow | Any) -> str:
    """The checksum a workflow would be published under (to spot a changed file on resume)."""
    return checksum_of(canonical_definition(workflow)[0])


def _current_user() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name in some containers
        return None


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 5]`` -> ``"1-3, 5"``."""
    parts: list[str] = []
    for n in numbers:
        if parts and n == int(parts[-1].split("-")[-1]) + 1:
            parts[-1] = f"{parts[-1].split('-')[0]}-{n}"
        else:
            parts.append(str(n))
    return ", ".join(parts)


_COLUMNS = ("name, version, checksum, definition, source, created_at, created_by, replayable, "
            "rolled_back_from, changelog")


# ---------------------------------------------------------------------- the store
class WorkflowVersionStore:
    """Published workflow definitions in the run-store file, shared by every process.

    ``db`` is a path, a ``Database``, a ``RunStore``, a sqlite3 connection, or None for the
    default store. Writes take SQLite's write lock (``BEGIN IMMEDIATE``) before reading the
    latest version, so concurrent publishers get consecutive, gap-free numbers.
    """

    def __init__(self, db: Any = None) -> None:
        self.db = _database(db)

    @property
    def path(self) -> Path:
        return self.db.path

    # ------------------------------------------------------------------ writing
    def publish(self, workflow: Workflow | Any, changelog: str | None = None,
                created_by: str | None = None, source: str | None = None,
                migration_script: str | None = None) -> VersionInfo:
        """Store the workflow's definition as a new version, or return the latest if unchanged.

        Arguments follow the spec's order (``publish(workflow, changelog, created_by)``).
        ``migration_script`` is recorded with a changed definition; given with an unchanged
        one it must be the script the latest version already has (MigrationScriptError).
        """
        wf = _as_workflow(workflow)
        script = _checked_script(wf.name, migration_script)
        definition, replayable = canonical_definition(wf)
        number = self._publish(wf.name, definition, replayable, wf.version, source,
                               created_by, changelog, reuse_any=False, rolled_back_from=None,
                               migration_script=script)
        return self.get(wf.name, number)

    def version_for(self, workflow: Workflow | Any, source: str | None = None,
                    created_by: str | None = None) -> int:
        """The version a run of ``workflow`` records: the newest one with this exact definition,
        published first when there is none (a read, no write lock, in the common case)."""
        wf = _as_workflow(workflow)
        definition, replayable = canonical_definition(wf)
        found = self.db.scalar("SELECT max(version) FROM workflow_versions WHERE name = ? AND "
                               "checksum = ?", [wf.name, checksum_of(definition)])
        if found is not None:
            return int(found)
        return self._publish(wf.name, definition, replayable, wf.version, source, created_by,
                             None, reuse_any=True, rolled_back_from=None)

    def rollback(self, name: str, to_version: int, created_by: str | None = None,
                 changelog: str | None = None) -> VersionInfo:
        """Publish ``to_version``'s definition again as the new latest version (history stays)."""
        old = self.get(name, to_version)
        number = self._publish(name, old.definition, old.replayable, 0,
                               f"rollback:v{to_version}", created_by,
                               changelog or f"rollback to v{to_version}",
                               reuse_any=False, rolled_back_from=to_version)
        return self.get(name, number)

    def _publish(self, name: str, definition: dict[str, Any], replayable: bool, wanted: int,
                 source: str | None, created_by: str | None, changelog: str | None, *,
                 reuse_any: bool, rolled_back_from: int | None,
                 migration_script: str | None = None) -> int:
        checksum = checksum_of(definition)
        with self.db.transaction() as conn:
            if reuse_any:  # another process may have published it since our unlocked read
                row = conn.execute("SELECT max(version) FROM workflow_versions WHERE name = ? "
                                   "AND checksum = ?", (name, checksum)).fetchone()
                if row[0] is not None:
                    return int(row[0])
            latest = conn.execute("SELECT version, checksum FROM workflow_versions WHERE name = ? "
                                  "ORDER BY version DESC LIMIT 1", (name,)).fetchone()
            if latest is not None and latest[1] == checksum:
                if migration_script is not None:
                    self._same_script(conn, name, int(latest[0]), migration_script)
                return int(latest[0])
            number = max(latest[0] + 1 if latest else 1, wanted)
            conn.execute(
                f"INSERT INTO workflow_versions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, number, checksum,
                 _stored_json(_with_version(definition, number), migration_script),
                 source, time.time(), created_by or _current_user(), int(replayable),
                 rolled_back_from, changelog))
        return number

    @staticmethod
    def _same_script(conn: Any, name: str, version: int, script: str) -> None:
        """Publishing an unchanged definition with a migration script is a repeat of the latest
        publish, or a mistake: a script describes a change."""
        row = conn.execute("SELECT definition FROM workflow_versions WHERE name = ? AND "
                           "version = ?", (name, version)).fetchone()
        if _split(row[0])[1].get("migration_script") != script:
            raise MigrationScriptError(
                f"{name} v{version} already has this definition, so there is nothing for the "
                "migration script to migrate; publish it with the changed definition "
                "(nothing was stored)")

    # ------------------------------------------------------------------ reading
    def names(self) -> list[str]:
        """Every workflow with at least one published version, sorted."""
        return [r["name"] for r in self.db.query(
            "SELECT DISTINCT name FROM workflow_versions ORDER BY name")]

    def list(self, name: str) -> list[VersionInfo]:
        """All versions of ``name``, oldest first, each with its changes from the one before."""
        rows = self.db.query(f"SELECT {_COLUMNS} FROM workflow_versions WHERE name = ? "
                             "ORDER BY version", [name])
        if not rows:
            raise self._unknown_name(name)
        out: list[VersionInfo] = []
        previous: dict[str, Any] | None = None
        for row in rows:
            info = _info(row, previous)
            out.append(info)
            previous = row
        return out

    def get(self, name: str, version: int) -> VersionInfo:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM workflow_versions WHERE name = ? AND "
                             "version <= ? ORDER BY version DESC LIMIT 2", [name, version])
        if not rows or rows[0]["version"] != version:
            raise self._unknown_version(name, version)
        return _info(rows[0], rows[1] if len(rows) > 1 else None)

    def latest(self, name: str) -> VersionInfo:
        number = self.db.scalar("SELECT max(version) FROM workflow_versions WHERE name = ?",
                                [name])
        if number is None:
            raise self._unknown_name(name)
        return self.get(name, int(number))

    def diff(self, name: str, v1: int, v2: int) -> VersionDiff:
        """What changed from version ``v1`` to version ``v2`` (either order)."""
        old, new = self.get(name, v1), self.get(name, v2)
        return diff_definitions(name, v1, v2, old.definition, new.definition)

    def definition_for_run(self, run_id: str) -> VersionInfo:
        """The version a stored run recorded (by run id or unique prefix)."""
        run = RunStore(self.db).get_run(run_id)
        if run.version is None:
            raise UnknownVersionError(f"run {run.run_id} of {run.workflow!r} recorded no "
                                      "workflow version")
        return self.get(run.workflow, run.version)

    # spec §9 names
    get_version = get
    get_latest = latest
    list_versions = list

    # ------------------------------------------------------------------ errors
    def _unknown_name(self, name: str) -> UnknownVersionError:
        known = self.names()
        listed = ", ".join(known[:10]) + (f" and {len(known) - 10} more" if len(known) > 10
                                          else "")
        hint = f"published workflows: {listed}" if known else "no workflow is published yet"
        return UnknownVersionError(f"workflow {name!r} has no published versions in "
                                   f"{self.path}; {hint}")

    def _unknown_version(self, name: str, version: int) -> UnknownVersionError:
        numbers = [int(r["version"]) for r in self.db.query(
            "SELECT version FROM workflow_versions WHERE name = ? ORDER BY version", [name])]
        if not numbers:
            return self._unknown_name(name)
        return UnknownVersionError(f"workflow {name!r} has no version {version}; versions: "
                                   f"{_ranges(numbers)} (latest {numbers[-1]})")


def _info(row: dict[str, Any], previous: dict[str, Any] | None) -> VersionInfo:
    definition, meta = _split(row["definition"])
    rolled = row.get("rolled_back_from")
    if previous is None:
        changes: tuple[str, ...] = ("first version",)
    else:
        found = diff_definitions(row["name"], previous["version"], row["version"],
                                 _split(previous["definition"])[0], definition).changes()
        changes = tuple(found) or ("no changes",)
    if rolled is not None:
        changes = (f"rollback to v{rolled}", *changes)
    return VersionInfo(
        name=row["name"], version=int(row["version"]), checksum=row["checksum"],
        definition=definition, created_at=to_datetime(row["created_at"]) or datetime.now(UTC),
        created_by=row.get("created_by"), source=row.get("source"),
        changelog=row.get("changelog"),
        replayable=bool(row.get("replayable", 1)) and "apiVersion" in definition,
        rolled_back_from=rolled, changes=changes,
        migrated_from=None if previous is None else int(previous["version"]),
        migration_script=meta.get("migration_script"))


def _database(target: Any) -> Database:
    if isinstance(target, Database):
        return target
    if isinstance(target, WorkflowVersionStore):
        return target.db
    inner = getattr(target, "db", None)
    if isinstance(inner, Database):  # a RunStore
        return inner
    if target is not None and hasattr(target, "execute") and not isinstance(target, str | Path):
        row = target.execute("PRAGMA database_list").fetchone()  # a sqlite3.Connection
        return Database(row[2] if row and row[2] else None)
    return Database(target)


def version_for_run(store: Any, workflow: Workflow | Any, source: str | None = None) -> int:
    """Publish-or-get the version a run of ``workflow`` records in ``store`` (call it before
    the run starts: the run then keeps that version whatever is published meanwhile)."""
    versions = store if isinstance(store, WorkflowVersionStore) else WorkflowVersionStore(store)
    return versions.version_for(workflow, source=source)


#: the spec's name for a published version (§9)
WorkflowVersion = VersionInfo

__all__ = ["FieldChange", "MigrationScriptError", "StepChange", "UnknownVersionError",
           "VersionDiff", "VersionInfo", "VersionNotReplayableError", "WorkflowVersion",
           "WorkflowVersionStore", "canonical_definition", "checksum_of", "definition_checksum",
           "version_for_run"]
