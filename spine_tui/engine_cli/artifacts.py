"""``artifacts``: the artifact references a run's steps returned, optionally checked on disk.

The run store records every ``ArtifactRef`` found in a step output (key, store, size,
content type, SHA-256); the bytes live in an artifact store. With ``--root`` each reference
is resolved in a ``LocalArtifactStore`` and its bytes re-hashed, so a missing, overwritten or
corrupted artifact shows before a downstream step trips on it.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from engine import ArtifactRef, LocalArtifactStore
from engine.artifacts import ArtifactChecksumError, ArtifactNotFoundError, default_artifact_root

from ._io import EXIT_FAILED, EXIT_OK, CliError, HelpFormatter, Streams, display_path, plural
from ._store import add_db_option, local_time, open_store, require_store_file

_STATE_STYLES = {"ok": "green", "missing": "red", "corrupt": "red", "other store": "yellow"}


def cmd_artifacts(args: argparse.Namespace, io: Streams) -> int:
    """List the run's artifact refs; with ``--root``, verify each one (exit 1 if any is bad)."""
    require_store_file(args, args.run_id)
    with open_store(args) as store:
        record = store.get_run(args.run_id)
        rows = [_artifact_dict(row) for row in store.artifacts(record.run_id)]
    root = Path(args.root) if args.root else None
    if root is not None:
        if not root.is_dir():  # opening a LocalArtifactStore would create an empty one
            raise CliError(f"no artifact store at {root}",
                           hint="give the folder the steps wrote to: --root PATH (default "
                                "$SPINE_HOME/artifacts)")
        local = LocalArtifactStore(root)
        for row in rows:
            row["state"], row["problem"] = verify(local, row)
    bad = [row for row in rows if row.get("state") not in (None, "ok")]
    if args.json:
        io.write_json({"run_id": record.run_id, "workflow": record.workflow,
                       "root": str(root) if root else None, "artifacts": rows})
    else:
        _print_rows(io, record.run_id, rows, root, bad)
    return EXIT_FAILED if bad else EXIT_OK


def verify(local: LocalArtifactStore, row: dict[str, Any]) -> tuple[str, str | None]:
    """``ok`` when the key still holds the referenced bytes and they hash to the checksum;
    else ``missing`` / ``corrupt`` / ``other store`` and why."""
    if row["store"] and row["store"] != local.name:
        return "other store", f"recorded in store {row['store']!r}, not {local.name!r}"
    ref = ArtifactRef(local.name, row["key"], row["size_bytes"],
                      row["content_type"] or "application/octet-stream",
                      datetime.fromisoformat(row["created_at"]), row["checksum"])
    try:
        local.verify(ref)
    except ArtifactNotFoundError as exc:
        return "missing", exc.detail or "no such key in the store"
    except ArtifactChecksumError as exc:
        return "corrupt", str(exc)
    return "ok", None


def _artifact_dict(row: dict[str, Any]) -> dict[str, Any]:
    return {"key": row["key"], "step": row.get("step"), "store": row.get("store") or "",
            "size_bytes": int(row.get("size_bytes") or 0),
            "content_type": row.get("content_type"), "checksum": row["checksum"],
            "created_at": datetime.fromtimestamp(row["created_at"], UTC).isoformat()}


def _print_rows(io: Streams, run_id: str, rows: list[dict[str, Any]], root: Path | None,
                bad: list[dict[str, Any]]) -> None:
    console = io.console
    if not rows:
        console.print(f"run {run_id} recorded no artifacts", style="dim")
        return
    table = Table(header_style="bold", box=None, padding=(0, 2, 0, 0))
    columns = ["key", "step", "size", "content type", "sha256", "created"]
    if root is not None:
        columns.append("on disk")
    for column in columns:
        table.add_column(column, overflow="fold", justify="right" if column == "size" else "left")
    for row in rows:
        cells: list[Text | str] = [
            Text(row["key"]), Text(row["step"] or "-"), human_size(row["size_bytes"]),
            Text(row["content_type"] or "-"), row["checksum"][:12],
            local_time(datetime.fromisoformat(row["created_at"]))]
        if root is not None:
            state = row["state"]
            cells.append(Text(state + (f": {row['problem']}" if row["problem"] else ""),
                              style=_STATE_STYLES.get(state, "")))
        table.add_row(*cells)
    console.print(table)
    total = sum(row["size_bytes"] for row in rows)
    summary = f"{plural(len(rows), 'artifact')}, {human_size(total)} in run {run_id}"
    if root is not None:
        summary += (f"; {len(bad)} not intact in {display_path(root)}" if bad
                    else f"; all intact in {display_path(root)}")
    console.print(summary, style="red" if bad else "dim", soft_wrap=True)


def human_size(size: int) -> str:
    """``512 B``, ``1.5 KiB``, ``12.0 MiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


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
               "  spine-engine artifacts 3f9a --root /data/artifacts --json",
        formatter_class=HelpFormatter)
    p.add_argument("run_id", metavar="RUN_ID", help="a run id or a unique prefix of one")
    p.add_argument("--root", metavar="PATH", nargs="?", default=None,
                   const=str(default_artifact_root()),
                   help="verify the artifacts in the local artifact store at PATH "
                        "(default: $SPINE_HOME/artifacts)")
    add_db_option(p)
    p.add_argument("--json", action="store_true", help="print the artifacts as JSON")
    p.set_defaults(func=cmd_artifacts)
