"""``apikey``: the API keys ``spine-engine serve`` accepts (only a hash of each is stored)."""

from __future__ import annotations

import argparse

from rich.table import Table
from rich.text import Text

from engine.store import SCOPES, ApiKeyError, ApiKeyStore

from ..widgets.status import format_time
from ._io import EXIT_OK, CliError, HelpFormatter, Streams
from ._store import add_db_option, open_store


def cmd_create(args: argparse.Namespace, io: Streams) -> int:
    with open_store(args) as store:
        try:
            key, record = ApiKeyStore(store.db).create(args.name, args.scope)
        except ApiKeyError as exc:
            raise CliError(str(exc)) from None
    if args.json:
        io.write_json({"name": record.name, "scope": record.scope, "key": key})
        return EXIT_OK
    io.out.write(f"{key}\n")
    io.err_console.print(Text(
        f"API key {record.name!r} (scope {record.scope}) created. This is the only time it is "
        "shown: store it now. Send it as `Authorization: Bearer KEY`.", style="dim"),
        soft_wrap=True)
    return EXIT_OK


def cmd_list(args: argparse.Namespace, io: Streams) -> int:
    with open_store(args) as store:
        records = ApiKeyStore(store.db).list()
    if args.json:
        io.write_json([{"name": r.name, "scope": r.scope, "key_id": r.key_id,
                        "created_at": r.created_at.isoformat(),
                        "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None,
                        "revoked": r.revoked_at is not None} for r in records])
        return EXIT_OK
    if not records:
        io.console.print("no API keys: `serve` is open, on a loopback address only")
        return EXIT_OK
    table = Table("name", "scope", "id", "created", "last used", "state", box=None)
    for r in records:
        table.add_row(r.name, r.scope, r.key_id, format_time(r.created_at),
                      format_time(r.last_used_at) if r.last_used_at else "-",
                      Text("revoked", style="red") if r.revoked_at else Text("active",
                                                                             style="green"))
    io.console.print(table)
    return EXIT_OK


def cmd_revoke(args: argparse.Namespace, io: Streams) -> int:
    with open_store(args) as store:
        try:
            record = ApiKeyStore(store.db).revoke(args.name)
        except ApiKeyError as exc:
            raise CliError(str(exc), hint="`spine-engine apikey list` shows the keys") from None
    io.console.print(f"revoked API key {record.name!r}: requests using it now get 401")
    return EXIT_OK


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("apikey", help="create, list and revoke API keys for serve",
                            description="API keys for `spine-engine serve`. Once one exists, "
                                        "every API request needs a key; scopes nest: read < "
                                        "run < admin.", formatter_class=HelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="make a key and print it (shown once)",
                                formatter_class=HelpFormatter)
    create.add_argument("name", help="a label for the key (who or what uses it)")
    create.add_argument("--scope", choices=SCOPES, default="read",
                        help="read: GET only; run: also start and control runs; admin: also "
                             "change workflows and schedules (default: read)")
    create.set_defaults(func=cmd_create)
    listing = actions.add_parser("list", help="the keys, without their secrets",
                                 formatter_class=HelpFormatter)
    listing.set_defaults(func=cmd_list)
    revoke = actions.add_parser("revoke", help="stop a key from working",
                                formatter_class=HelpFormatter)
    revoke.add_argument("name")
    revoke.set_defaults(func=cmd_revoke)
    for each in (create, listing, revoke):
        each.add_argument("--json", action="store_true", help="machine-readable output")
        add_db_option(each)
