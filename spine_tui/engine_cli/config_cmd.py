"""``config show``: the settings of one profile (``spine.yaml`` + ``SPINE_*`` + ``.env``), with
every secret shown as ``[REDACTED]`` and each value's origin, after checking the secrets
resolve."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table
from rich.text import Text

import engine  # SpineConfig (pydantic-settings, ~90 ms) loads on first use, not per command
from engine import SecretError

from ._io import EXIT_OK, CliError, HelpFormatter, Streams, display_path, preview


def load_config(args: argparse.Namespace) -> engine.SpineConfig:
    """The profile the arguments name, or a ``CliError`` (exit 2) saying what is wrong."""
    try:
        config = engine.SpineConfig.load(profile=args.profile, path=args.file)
        if not args.no_check:
            config.check_secrets()
    except engine.ConfigError as exc:
        raise CliError(str(exc), hint="see `spine-engine config show --help` for the file's "
                                      "layout") from None
    except SecretError as exc:
        raise CliError(str(exc), hint="set the secret, or pass --no-check to show the config "
                                      "without resolving secrets") from None
    return config


def cmd_show(args: argparse.Namespace, io: Streams) -> int:
    config = load_config(args)
    values = config.to_dict(redact=True)
    secrets = config.references()
    sources = config.sources()
    if args.json:
        io.write_json({"profile": config.profile,
                       "file": str(config.path) if config.path else None,
                       "profiles": list(config.available_profiles),
                       "dotenv": [str(p) for p in config.dotenv_files],
                       "settings": values, "secrets": secrets, "sources": sources})
        return EXIT_OK
    where = display_path(config.path) if config.path else "no spine.yaml (environment only)"
    io.console.print(Text.assemble(("profile ", "dim"), (config.profile, "bold"),
                                   ("  from ", "dim"), where), soft_wrap=True)
    if config.dotenv_files:
        io.console.print(Text("loaded " + ", ".join(display_path(p)
                                                    for p in config.dotenv_files), style="dim"))
    table = Table("key", "value", "from", box=None)
    for key, value in _flat(values):
        origin = sources.get(key, "")
        if key in secrets:
            origin = f"{secrets[key]} ({origin})"
        table.add_row(key, Text(preview(value)) if value is not None else Text("-", style="dim"),
                      Text(origin, style="dim"))
    io.console.print(table)
    return EXIT_OK


def _flat(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(data, dict) and (data or not prefix):
        rows: list[tuple[str, Any]] = []
        for key, value in data.items():
            rows.extend(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
        return rows
    return [(prefix, data)]


LAYOUT = """\
spine.yaml (or --file, or $SPINE_CONFIG):
  default_profile: dev
  defaults: {log_level: INFO}
  profiles:
    dev:  {database_url: "sqlite:///dev.db", dotenv: .env}
    prod: {database_url: "secret:env:DATABASE_URL", secrets_dir: /run/secrets}

The profile is --profile, else $SPINE_PROFILE, else default_profile, else dev.
SPINE_<KEY> overrides a setting (SPINE_DATABASE_URL), SPINE_VALUES__A__B a free-form a.b."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("config", help="show the settings of a profile, secrets redacted",
                            description="Environment profiles (dev, staging, prod) from "
                                        "spine.yaml with SPINE_* overrides.",
                            formatter_class=HelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="the resolved settings, secrets as [REDACTED]",
                              description="Print one profile's settings and where each comes "
                                          "from; secret references are checked (a missing "
                                          "one exits 2) and shown as [REDACTED].",
                              epilog=LAYOUT, formatter_class=HelpFormatter)
    show.add_argument("--profile", "-p", default=None, metavar="P",
                      help="the profile (default: $SPINE_PROFILE, the file's default_profile, "
                           "dev)")
    show.add_argument("--file", "-f", default=None, metavar="PATH",
                      help="the config file (default: $SPINE_CONFIG, else ./spine.yaml)")
    show.add_argument("--no-check", action="store_true",
                      help="do not resolve secret references (show them without checking)")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=cmd_show)
