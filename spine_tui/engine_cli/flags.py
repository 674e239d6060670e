"""``flags``: list the feature flags the workflows register (value, default and what decides
it) and set one on or off for every process (saved in the flags file)."""

from __future__ import annotations

import argparse

from rich.table import Table
from rich.text import Text

from engine import FeatureFlags, discover

from ..locations import workflow_paths
from ._io import EXIT_OK, CliError, HelpFormatter, Streams, add_paths_option, check_paths_exist

_STATES = {"on": True, "true": True, "1": True, "yes": True,
           "off": False, "false": False, "0": False, "no": False}


def _load_flags(args: argparse.Namespace) -> None:
    """Load the workflow modules, which register their flags as they import."""
    check_paths_exist(args.paths)
    discover(workflow_paths(args.paths))


def _value(name: str) -> bool:
    try:
        return FeatureFlags.is_enabled(name)
    except ValueError as exc:  # a bad SPINE_FEATURE_* value or flags file
        raise CliError(str(exc)) from None


def cmd_list(args: argparse.Namespace, io: Streams) -> int:
    _load_flags(args)
    try:
        saved = FeatureFlags.persisted()
    except ValueError as exc:
        raise CliError(str(exc)) from None
    rows = [{"name": f.name, "enabled": _value(f.name), "default": f.default,
             "source": FeatureFlags.source(f.name), "description": f.description,
             "registered": True} for f in FeatureFlags.flags()]
    known = {row["name"] for row in rows}
    rows += [{"name": name, "enabled": value, "default": None, "source": "file",
              "description": "", "registered": False}
             for name, value in sorted(saved.items()) if name not in known]
    if args.json:
        io.write_json({"flags_file": str(FeatureFlags.flags_file()), "flags": rows})
        return EXIT_OK
    if not rows:
        io.console.print("no feature flags: workflows register them with "
                         "FeatureFlags.register(name, default=...)")
        return EXIT_OK
    table = Table("flag", "value", "default", "from", "description", box=None)
    for row in rows:
        value = Text("on", style="green") if row["enabled"] else Text("off", style="red")
        default = "-" if row["default"] is None else ("on" if row["default"] else "off")
        source = row["source"] if row["registered"] else "file (no workflow registers it)"
        if row["source"] == "env":
            source = f"env ${FeatureFlags.env_var(str(row['name']))}"
        table.add_row(str(row["name"]), value, default, Text(str(source), style="dim"),
                      str(row["description"]))
    io.console.print(table)
    return EXIT_OK


def cmd_set(args: argparse.Namespace, io: Streams) -> int:
    state = _STATES.get(args.state.lower())
    if state is None:
        raise CliError(f"{args.state!r} is not on or off", hint="spine-engine flags set NAME on")
    _load_flags(args)
    registered = {f.name for f in FeatureFlags.flags()}
    if args.name not in registered and not args.force:
        known = ", ".join(sorted(registered)) or "none"
        raise CliError(f"unknown feature flag {args.name!r} (registered: {known})",
                       hint="pass --paths to load the workflows that register it, or --force "
                            "to save it anyway")
    try:
        path = FeatureFlags.persist(args.name, state)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        io.write_json({"name": args.name, "enabled": state, "flags_file": str(path)})
        return EXIT_OK
    io.console.print(f"{args.name} is now {'on' if state else 'off'} (saved in {path})")
    env = FeatureFlags.env_var(args.name)
    if args.name in registered and FeatureFlags.source(args.name) == "env":
        io.err_console.print(Text(f"note: ${env} is set here and wins over the saved value",
                                  style="yellow"), soft_wrap=True)
    return EXIT_OK


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("flags", help="list feature flags; set one on or off",
                            description="Feature flags registered by the workflows. A value "
                                        "set here is saved in $SPINE_HOME/flags.json (or "
                                        "$SPINE_FLAGS_FILE) and read by every process; "
                                        "SPINE_FEATURE_<NAME> in the environment still wins.",
                            formatter_class=HelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    parser.set_defaults(func=cmd_list, paths=None, json=False)
    listing = actions.add_parser("list", help="every flag: value, default, what decides it",
                                 formatter_class=HelpFormatter)
    listing.set_defaults(func=cmd_list)
    setter = actions.add_parser("set", help="turn a flag on or off for every process",
                                formatter_class=HelpFormatter)
    setter.add_argument("name", help="the flag's name")
    setter.add_argument("state", metavar="on|off", help="on or off")
    setter.add_argument("--force", action="store_true",
                        help="save a flag no loaded workflow registers")
    setter.set_defaults(func=cmd_set)
    for each in (listing, setter):
        add_paths_option(each)
        each.add_argument("--json", action="store_true", help="machine-readable output")
