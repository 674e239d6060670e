"""CLI fixture: reports the type and value of the run params it receives."""

from __future__ import annotations

from engine import Step, Workflow


def inspect_params(n: int, label: str = "none", flags: list | None = None) -> dict:
    return {"n": n, "n_type": type(n).__name__, "doubled": n * 2, "label": label,
            "flags": flags}


params = Workflow(
    "cli.params",
    steps=[Step.from_function("inspect", inspect_params)],
    defaults={"label": "default"},
    schedule="0 6 * * *",
)
