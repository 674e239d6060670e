"""The names of the places a step can run, and what a Dask scheduler address looks like,
kept in a leaf module so ``Step``, ``Workflow`` and the YAML spec can check an ``executor=``
and a ``scheduler=`` without importing the executors themselves."""

from __future__ import annotations

import re

THREADS = "threads"
PROCESSES = "processes"
DASK = "dask"
#: every executor a run, a workflow or a step may name
EXECUTOR_NAMES = (THREADS, PROCESSES, DASK)
_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx)://[^\s/:]+(:\d+)?$")


def check_executor_name(owner: str, name: str | None) -> str | None:
    """``name`` when it is a known executor (or None); else a ``ValueError`` saying where."""
    if name is None or name in EXECUTOR_NAMES:
        return name
    raise ValueError(f"{owner}: executor {name!r} is not one of {', '.join(EXECUTOR_NAMES)}; "
                     "pick one (a Dask scheduler address goes in scheduler=, e.g. "
                     "'tcp://127.0.0.1:8786')")


def check_scheduler_address(address: str) -> str:
    """``address`` if it looks like a Dask scheduler address, else a ``ValueError`` saying
    what one looks like."""
    text = address.strip()
    if not _ADDRESS.match(text):
        raise ValueError(f"scheduler address {address!r} is not a Dask address; write it as "
                         "tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786")
    return text
