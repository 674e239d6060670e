"""The names of the places a step can run, kept in a leaf module so ``Step`` and ``Workflow``
can check an ``executor=`` without importing the executors themselves."""

from __future__ import annotations

THREADS = "threads"
PROCESSES = "processes"
DASK = "dask"
#: every executor a run, a workflow or a step may name
EXECUTOR_NAMES = (THREADS, PROCESSES, DASK)


def check_executor_name(owner: str, name: str | None) -> str | None:
    """``name`` when it is a known executor (or None); else a ``ValueError`` saying where."""
    if name is None or name in EXECUTOR_NAMES:
        return name
    raise ValueError(f"{owner}: executor {name!r} is not one of {', '.join(EXECUTOR_NAMES)}; "
                     "pick one (a Dask scheduler address goes in scheduler=, e.g. "
                     "'tcp://127.0.0.1:8786')")
