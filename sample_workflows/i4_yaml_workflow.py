"""YAML-defined SEC filing ETL: parse ``i4_sec_filings.yaml``, run it, round-trip it (spec I4).

The workflow itself lives in ``i4_sec_filings.yaml`` (discovery loads it as
``etl.sec_filings``); its ``sec.*`` pipelines are registered by ``sec_pipelines``. This
module defines no module-level ``Workflow`` on purpose: a second object named
``etl.sec_filings`` would clash with the YAML one in the catalog. Run it to parse the YAML,
run the workflow and check the runtime → spec → YAML → spec → runtime round trip.
With the bundled index, fetch keeps the 7 10-K rows, validate rejects 2 (an "N/A"
accession number and a missing filing date) and 5 filings are stored.
"""

from __future__ import annotations

from typing import Any

from sample_workflows import SAMPLES_DIR, sec_pipelines  # noqa: F401  (registers sec.*)

YAML_PATH = SAMPLES_DIR / "i4_sec_filings.yaml"


def load_spec() -> Any:
    """The parsed ``WorkflowSpec`` of the bundled YAML file."""
    from engine import WorkflowSpec  # type: ignore[attr-defined]

    return WorkflowSpec.from_file(YAML_PATH)


def load_workflow() -> Any:
    """The runtime ``Workflow`` built from the bundled YAML file."""
    return load_spec().to_workflow()


def round_trip() -> tuple[Any, Any]:
    """(workflow, workflow2): the YAML's workflow and the one rebuilt from its own YAML export."""
    from engine import WorkflowSpec  # type: ignore[attr-defined]

    workflow = load_workflow()
    spec2 = WorkflowSpec.from_workflow(workflow)
    yaml_output = spec2.to_yaml()
    spec3 = WorkflowSpec.from_yaml(yaml_output)
    return workflow, spec3.to_workflow()


if __name__ == "__main__":
    from sample_workflows._common import run_and_show

    workflow, workflow2 = round_trip()
    assert workflow.name == workflow2.name
    assert len(workflow.steps) == len(workflow2.steps)
    run_and_show(workflow)
