"""``generate_sec_dataset``: a deterministic, SEC-style sample of XBRL financial data, written
as EDGAR publishes its financial statement data sets: one ZIP per calendar quarter of filing
(``2023q1.zip`` ...), each holding tab-separated ``sub.txt``, ``num.txt``, ``tag.txt`` and
``pre.txt``, plus a ``manifest.json`` saying what was made.

The same ``companies`` and ``seed`` give byte-identical files (fixed ZIP timestamps, seeded
models), so tests and benchmarks can rely on exact counts. The data has what makes the real
thing hard: amended filings (10-K/A, 10-Q/A) restating values, comparative prior-period facts,
segment and co-registrant facts, several tags for one concept, stock splits, a balance sheet
that does not balance, and a few malformed rows per quarter (``manifest["malformed"]``).
Beside the ZIPs it writes the reference data a pipeline imports first: ``company_tickers.json``
(SEC's ticker map layout) and ``corporate_actions.tsv`` (the splits, with their ex-dates).
"""

from __future__ import annotations

import json
import os
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._sec_filings import (
    NUM_COLUMNS,
    PARTITIONS,
    PRE_COLUMNS,
    SUB_COLUMNS,
    TAG_COLUMNS,
    Filing,
    filings_of,
    malformed_num_rows,
    num_rows,
    pre_rows,
    short_num_line,
    sub_row,
    tag_rows,
)
from ._sec_model import build_company
from ._sec_reference import (
    ACTIONS_NAME,
    TICKERS_NAME,
    action_rows,
    actions_tsv,
    ticker_row,
    tickers_json,
)

__all__ = ["MANIFEST_NAME", "SecDataset", "generate_sec_dataset"]

MANIFEST_NAME = "manifest.json"
DEFAULT_COMPANIES = 2_000
DEFAULT_SEED = 7
MAX_COMPANIES = 100_000
#: called after each quarter's ZIP is written: (partition, quarters done, quarters, facts)
Progress = Callable[[str, int, int, int], None]


@dataclass(frozen=True, slots=True)
class SecDataset:
    """What ``generate_sec_dataset`` wrote: where, from which inputs, and how much of what."""

    root: Path
    companies: int
    seed: int
    partitions: tuple[str, ...]
    files: tuple[Path, ...]
    filings: int
    amendments: int
    facts: int
    #: malformed rows by kind: ``short_line`` (bronze rejects it), the rest silver quarantines
    malformed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    #: reference files by kind (``tickers``, ``corporate_actions``); empty for old data sets
    reference: dict[str, Path] = field(default_factory=dict)
    tickers: int = 0
    splits: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"root": str(self.root), "companies": self.companies, "seed": self.seed,
                "partitions": list(self.partitions), "files": [str(f) for f in self.files],
                "filings": self.filings, "amendments": self.amendments, "facts": self.facts,
                "malformed": dict(self.malformed), "seconds": round(self.seconds, 3),
                "reference": {k: str(v) for k, v in self.reference.items()},
                "tickers": self.tickers, "splits": self.splits}

    @classmethod
    def load(cls, root: str | os.PathLike[str]) -> SecDataset:
        """The dataset described by ``root/manifest.json`` (``FileNotFoundError`` if none)."""
        folder = Path(root)
        data = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
        return cls(root=folder, companies=int(data["companies"]), seed=int(data["seed"]),
                   partitions=tuple(data["partitions"]),
                   files=tuple(folder / Path(f).name for f in data["files"]),
                   filings=int(data["filings"]), amendments=int(data["amendments"]),
                   facts=int(data["facts"]), malformed=dict(data["malformed"]),
                   seconds=float(data.get("seconds", 0.0)),
                   reference={k: folder / Path(v).name
                              for k, v in data.get("reference", {}).items()},
                   tickers=int(data.get("tickers", 0)), splits=int(data.get("splits", 0)))


def generate_sec_dataset(out_dir: str | os.PathLike[str], companies: int = DEFAULT_COMPANIES,
                         seed: int = DEFAULT_SEED, progress: Progress | None = None
                         ) -> SecDataset:
    """Write the sample data set for ``companies`` companies into ``out_dir`` (created; our
    own files in it are replaced atomically, anything else is left alone)."""
    if isinstance(companies, bool) or not isinstance(companies, int) \
            or not 1 <= companies <= MAX_COMPANIES:
        raise ValueError(f"companies must be a whole number from 1 to {MAX_COMPANIES:,}, "
                         f"got {companies!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    started = time.perf_counter()
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    by_partition: dict[str, list[Filing]] = {p: [] for p in PARTITIONS}
    tickers: list[list[object]] = []
    actions: list[tuple[str, ...]] = []
    for index in range(companies):
        company = build_company(seed, index)
        for filing in filings_of(company):
            by_partition[filing.partition].append(filing)
        listed = ticker_row(company)
        if listed is not None:
            tickers.append(listed)
        actions.extend(action_rows(company))
    reference = {"tickers": root / TICKERS_NAME, "corporate_actions": root / ACTIONS_NAME}
    _write_atomic(reference["tickers"], tickers_json(tickers))
    _write_atomic(reference["corporate_actions"], actions_tsv(actions))
    files: list[Path] = []
    facts = filings = amendments = 0
    malformed = {"short_line": 0, "bad_value": 0, "bad_date": 0, "orphan": 0}
    for done, partition in enumerate(PARTITIONS, start=1):
        batch = sorted(by_partition[partition], key=lambda f: (f.filed, f.adsh))
        path, written = _write_partition(root, partition, batch)
        files.append(path)
        facts += written
        filings += len(batch)
        amendments += sum(1 for f in batch if f.form.endswith("/A"))
        malformed["short_line"] += 1
        malformed["bad_value"] += 2
        malformed["bad_date"] += 1
        malformed["orphan"] += 1
        if progress is not None:
            progress(partition, done, len(PARTITIONS), written)
    dataset = SecDataset(root=root, companies=companies, seed=seed, partitions=PARTITIONS,
                         files=tuple(files), filings=filings, amendments=amendments,
                         facts=facts, malformed=malformed,
                         seconds=time.perf_counter() - started, reference=reference,
                         tickers=len(tickers), splits=len(actions))
    manifest = dataset.to_dict() | {"root": ".", "files": [f.name for f in files],
                                    "reference": {k: v.name for k, v in reference.items()}}
    _write_atomic(root / MANIFEST_NAME, json.dumps(manifest, indent=2).encode())
    return dataset


def _write_partition(root: Path, partition: str, batch: list[Filing]) -> tuple[Path, int]:
    """One quarter's ZIP; returns its path and how many ``num`` lines it holds."""
    num_lines = [_tsv(NUM_COLUMNS)]
    for filing in batch:
        num_lines.extend(_tsv(row) for row in num_rows(filing))
    if batch:
        num_lines.extend(_tsv(row) for row in malformed_num_rows(partition, batch[0]))
        num_lines.append(short_num_line(batch[-1]))
    annual = [f for f in batch if f.fiscal_quarter == 0]
    year = int(partition[:4]) - 1
    members = {
        "sub.txt": [_tsv(SUB_COLUMNS), *(_tsv(sub_row(f)) for f in batch)],
        "num.txt": num_lines,
        "tag.txt": [_tsv(TAG_COLUMNS),
                    *(_tsv(r) for r in tag_rows(year, [f for f in annual
                                                       if f.company.custom_tag]))],
        "pre.txt": [_tsv(PRE_COLUMNS), *(_tsv(r) for f in annual for r in pre_rows(f))],
    }
    path = root / f"{partition}.zip"
    tmp = root / f".{partition}.zip.{os.getpid()}.tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, lines in members.items():
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, ("\n".join(lines) + "\n").encode("utf-8"), compresslevel=1)
    os.replace(tmp, path)
    return path, len(num_lines) - 1


def _tsv(fields: Iterable[str]) -> str:
    return "\t".join(fields)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
