"""``artifacts``: the artifact references a run's steps returned, optionally checked on disk.

The run store records every ``ArtifactRef`` found in a step output (key, store, size,
content type, SHA-256); the bytes live in an artifact store. With ``--root`` each reference
is resolved in a ``LocalArtifactStore`` and its bytes re-hashed, so a missing, overwritten or
corrupted artifact shows before a downstream step trips on it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from engine import ArtifactError, LocalArtifactStore, default_artifact_root, open_artifact_store
from engine.store import ArtifactRecord, ArtifactState

from ..widgets.status import human_size
from ._io import EXIT_FAILED, EXIT_OK, CliError, HelpFormatter, Streams, display_path, plural
from ._store import add_db_option, local_time, open_store, require_store_file

_STATE_STYLES = {"ok": "green", "missing": "red", "corrupt": "red", "other store": "yellow"}
Check = tuple[ArtifactState, str | None]


def cmd_artifacts(args: argparse.Namespace, io: Streams) -> int:
    """List the run's artifact refs; with ``--root``, verify each one (exit 1 if any is bad)."""
    require_store_file(args, args.run_id)
    with open_store(args) as store:
        record = store.get_run(args.run_id)
        artifacts = store.artifacts(record.run_id)
    root: Path | str | None = None
    checks: list[Check] | None = None
    if args.root and "://" in args.root and not args.root.startswith("file://"):
        root = args.root  # a URL store (s3://, gs://, memory://): verified where it lives
        try:
            remote = open_artifact_store(root)
        except ArtifactError as exc:
            raise CliError(str(exc), hint="give the URL the run wrote to (its --artifacts)"
                           ) from None
        checks = [artifact.verify(remote) for artifact in artifacts]
    elif args.root:
        root = Path(args.root.removeprefix("file://"))
        if not root.is_dir():  # opening a LocalArtifactStore would create an empty one
            raise CliError(f"no artifact store at {root}",
                           hint="give the folder the steps wrote to: --root PATH (default "
                                "$SPINE_HOME/artifacts)")
        local = LocalArtifactStore(root)
        checks = [artifact.verify(local) for artifact in artifacts]
    bad = sum(state != "ok" for state, _ in checks or [])
    if args.json:
        io.write_json({"run_id": record.run_id, "workflow": record.workflow,
                       "root": str(root) if root else None,
                       "artifacts": _json_rows(artifacts, checks)})
    else:
        _print_rows(io, record.run_id, artifacts, root, checks, bad)
    return EXIT_FAILED if bad else EXIT_OK


def _json_rows(artifacts: list[ArtifactRecord], checks: list[Check] | None
               ) -> list[dict[str, Any]]:
    """Each artifact's ``to_dict()``, plus ``state`` and ``problem`` when it was verified."""
    if checks is None:
        return [artifact.to_dict() for artifact in artifacts]
    return [artifact.to_dict() | {"state": state, "problem": problem}
            for artifact, (state, problem) in zip(artifacts, checks, strict=True)]


def _print_rows(io: Streams, run_id: str, artifacts: list[ArtifactRecord], root: Path | str | None,
                checks: list[Check] | None, bad: int) -> None:
    console = io.console
    if not artifacts:
        console.print(f"run {run_id} recorded no artifacts", style="dim")
        return
    table = Table(header_style="bold", box=None, padding=(0, 2, 0, 0))
    columns = ["key", "step", "size", "content type", "sha256", "created"]
    if checks is not None:
        columns.append("on disk")
    for column in columns:
        table.add_column(column, overflow="fold", justify="right" if column == "size" else "left")
    for n, artifact in enumerate(artifacts):
        cells: list[Text | str] = [
            Text(artifact.key), Text(artifact.step or "-"), human_size(artifact.size_bytes),
            Text(artifact.content_type or "-"), artifact.checksum[:12],
            local_time(artifact.created_at)]
        if checks is not None:
            state, problem = checks[n]
            cells.append(Text(state + (f": {problem}" if problem else ""),
                              style=_STATE_STYLES.get(state, "")))
        table.add_row(*cells)
    console.print(table)
    total = sum(artifact.size_bytes for artifact in artifacts)
    summary = f"{plural(len(artifacts), 'artifact')}, {human_size(total)} in run {run_id}"
    if root is not None:
        where = root if isinstance(root, str) else display_path(root)
        summary += f"; {bad} not intact in {where}" if bad else f"; all intact in {where}"
    console.print(summary, style="red" if bad else "dim", soft_wrap=True)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``artifacts`` on the top-level parser."""
    p = sub.add_parser(
        "artifacts", help="list the artifacts a run's steps produced",
        description="List the artifact references recorded for a run: key, the step that "
                    "returned it, size, content type, SHA-256 prefix and time. With --root "
                    "each one is also looked up in that local artifact store and its bytes "
                    "re-hashed: ok, missing (deleted or overwritten since) or corrupt. Exit "
                    "status 1 when any artifact is not intact.",
        epilog="examples:\n  spine-engine artifacts 3f9a\n"
               "  spine-engine artifacts 3f9a --root          verify in $SPINE_HOME/artifacts\n"
               "  spine-engine artifacts 3f9a --root /data/artifacts --json\n"
               "  spine-engine artifacts 3f9a --root s3://my-bucket/spine",
        formatter_class=HelpFormatter)
    p.add_argument("run_id", metavar="RUN_ID", help="a run id or a unique prefix of one")
    p.add_argument("--root", metavar="PATH", nargs="?", default=None,
                   const=str(default_artifact_root()),
                   help="verify the artifacts in the local artifact store at PATH "
                        "(default: $SPINE_HOME/artifacts), or in the store at a URL "
                        "(s3://BUCKET/PREFIX, as given to run --artifacts)")
    add_db_option(p)
    p.add_argument("--json", action="store_true", help="print the artifacts as JSON")
    p.set_defaults(func=cmd_artifacts)
