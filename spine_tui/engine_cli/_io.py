"""What every ``spine-engine`` command shares: output streams, errors, JSON and short previews."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console

from engine import to_json

#: Exit codes: 0 success, 1 a workflow ran and failed, 2 bad input, 130 interrupted.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
_PIPED_WIDTH = 160


class CliError(Exception):
    """A problem the user can fix: printed as ``error: <message>`` plus a hint, no traceback."""

    def __init__(self, message: str, hint: str | None = None, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code


@dataclass
class Streams:
    """The real stdout/stderr of this invocation, captured before user code can redirect them.

    Commands print results to ``out`` only, so ``--json`` output stays parseable even when
    workflow modules print while they load or run.
    """

    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    _console: Console | None = None
    _err_console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            self._console = _console(self.out)
        return self._console

    @property
    def err_console(self) -> Console:
        if self._err_console is None:
            self._err_console = _console(self.err)
        return self._err_console

    def write_json(self, data: Any) -> None:
        self.out.write(dumps(data) + "\n")
        self.out.flush()


def _console(file: TextIO) -> Console:
    """A console on ``file``; when piped, wide enough that tables are not folded at 80 columns."""
    piped = not (hasattr(file, "isatty") and file.isatty())
    width = _PIPED_WIDTH if piped and "COLUMNS" not in os.environ else None
    return Console(file=file, highlight=False, width=width)


def dumps(data: Any) -> str:
    """Indented JSON with the engine's encoding rules; anything exotic falls back to ``str``."""
    try:
        return to_json(data, indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def plural(count: int, word: str) -> str:
    """``1 step`` / ``3 steps``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def preview(value: Any, width: int = 60) -> str:
    """A one-line JSON preview of a step output, cut at ``width`` characters."""
    if value is None or value == {}:
        return ""
    try:
        text = to_json(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def display_path(path: str | Path) -> str:
    """``path`` relative to the working directory when it is inside it (shorter tables)."""
    text = str(path)
    if text in ("registry", "") or not os.path.isabs(text):
        return text
    try:
        rel = os.path.relpath(text)
    except ValueError:  # another drive on Windows
        return text
    return text if rel.startswith("..") else rel


def check_paths_exist(paths: list[str] | None) -> None:
    """Fail early (exit 2) on a path that does not exist instead of listing an empty catalog."""
    for path in paths or ():
        if not Path(path).exists():
            raise CliError(f"no such file or directory: {path}",
                           hint="pass folders or .py/.yaml files that contain workflows")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Wraps one-paragraph descriptions to the terminal; keeps multi-line text (examples) as is."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


def add_paths_option(parser: argparse.ArgumentParser) -> None:
    """``--paths P ...``: where ``show`` and ``run`` look for a workflow given by name."""
    parser.add_argument("--paths", nargs="+", action="extend", metavar="P", default=None,
                        help="folders or files to search for the workflow "
                             "(default: ./workflows or the bundled samples); put "
                             "NAME_OR_FILE before this option")


def positive_int(text: str) -> int:
    """argparse type for counts and windows: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
