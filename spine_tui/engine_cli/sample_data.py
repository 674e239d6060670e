"""``sample-data sec``: write the deterministic SEC-style data set the medallion sample loads
(one EDGAR-like ZIP per quarter), showing progress per quarter on stderr."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engine import SecDataset, generate_sec_dataset

from ._io import EXIT_OK, CliError, HelpFormatter, Streams

MAX_COMPANIES = 100_000


def _companies(text: str) -> int:
    """``--companies``: a whole number from 1 to 100,000."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of companies "
                                         "(e.g. --companies 200)") from None
    if not 1 <= value <= MAX_COMPANIES:
        raise argparse.ArgumentTypeError(f"{value} is outside 1-{MAX_COMPANIES:,} "
                                         "(the default is 2000)")
    return value


def _seed(text: str) -> int:
    """``--seed``: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (e.g. --seed 7)"
                                         ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; use a seed >= 0")
    return value


def cmd_sec(args: argparse.Namespace, io: Streams) -> int:
    out = Path(args.output).expanduser()
    if out.exists() and not out.is_dir():
        raise CliError(f"-o {out} is a file, not a folder",
                       hint="pick a new or existing folder, e.g. -o ./sec-sample")
    started = time.perf_counter()
    try:
        dataset = _generate(args, io, out)
    except OSError as exc:
        raise CliError(f"cannot write the data set to {out}: {exc.strerror or exc}",
                       hint="choose a folder you can write to with -o DIR") from None
    if args.json:
        io.write_json(dataset.to_dict())
        return EXIT_OK
    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for label, value in (
            ("folder", str(dataset.root)), ("companies", f"{dataset.companies:,}"),
            ("seed", str(dataset.seed)),
            ("quarters", f"{len(dataset.partitions)} ({dataset.partitions[0]}"
                         f"-{dataset.partitions[-1]})"),
            ("filings", f"{dataset.filings:,} ({dataset.amendments} amendments)"),
            ("facts", f"{dataset.facts:,}"),
            ("reference", f"{dataset.tickers:,} tickers, {dataset.splits} splits ("
                          f"{', '.join(p.name for p in dataset.reference.values())})"),
            ("malformed rows", ", ".join(f"{k} {v}" for k, v in dataset.malformed.items())),
            ("took", f"{time.perf_counter() - started:.1f}s")):
        table.add_row(label, value)
    io.console.print(table)
    io.console.print(f"\nload it: spine-engine run sec.medallion --param data_dir={dataset.root}",
                     soft_wrap=True)
    return EXIT_OK


def _generate(args: argparse.Namespace, io: Streams, out: Path) -> SecDataset:
    """Generate with a progress bar on a terminal, one line per quarter otherwise."""
    if args.quiet:
        return generate_sec_dataset(out, companies=args.companies, seed=args.seed)
    console = io.err_console
    if not console.is_terminal:
        def report(partition: str, done: int, total: int, facts: int) -> None:
            console.print(f"[{done}/{total}] {partition}.zip  {facts:,} facts", highlight=False)
        return generate_sec_dataset(out, companies=args.companies, seed=args.seed,
                                    progress=report)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"writing {args.companies:,} companies", total=8)

        def advance(partition: str, done: int, total: int, facts: int) -> None:
            progress.update(task, completed=done, total=total,
                            description=f"{partition}.zip  {facts:,} facts")
        return generate_sec_dataset(out, companies=args.companies, seed=args.seed,
                                    progress=advance)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``sample-data`` and its ``sec`` generator."""
    parser = sub.add_parser(
        "sample-data", help="generate sample data sets for the bundled samples",
        description="Generate the data sets bundled samples load. `sec` writes an SEC-style "
                    "data set for the sec.medallion sample.",
        formatter_class=HelpFormatter)
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    sec = kinds.add_parser(
        "sec", help="SEC EDGAR-style financial statement data sets, one ZIP per quarter",
        description="Write a deterministic SEC-style data set like EDGAR's financial "
                    "statement data sets: one ZIP per calendar quarter of 2023-2024 with "
                    "sub.txt, num.txt, tag.txt and pre.txt (tab-separated), and a "
                    "manifest.json. It includes amended filings (10-K/A, 10-Q/A) that "
                    "restate values, comparative and segment facts, stock splits and a few "
                    "malformed rows per quarter. The same --companies and --seed always give "
                    "the same bytes. About 250 facts per company (2,000 companies: ~500,000 "
                    "facts, ~7 MB, a few seconds).",
        epilog="examples:\n"
               "  spine-engine sample-data sec -o ./sec-sample\n"
               "  spine-engine sample-data sec --companies 40 --seed 1 -o /tmp/sec-small\n"
               "  spine-engine run sec.medallion --param data_dir=./sec-sample",
        formatter_class=HelpFormatter)
    sec.add_argument("--companies", type=_companies, default=2000, metavar="N",
                     help="how many companies (1-100,000; default 2000)")
    sec.add_argument("--seed", type=_seed, default=7, metavar="S",
                     help="random seed (default 7); same seed, same data")
    sec.add_argument("-o", "--output", default="sec-sample", metavar="DIR",
                     help="folder to write into (created; default ./sec-sample)")
    sec.add_argument("--json", action="store_true", help="print what was written as JSON")
    sec.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    sec.set_defaults(func=cmd_sec)
