"""Feature-flagged pipeline: flags decide which parser runs and whether to enrich (spec B5).

Flags are read when ``build_pipeline()`` is called, so the module-level ``wf`` reflects the
flags at import time: with defaults (``use_new_parser`` off, ``enable_enrichment`` on) it
is fetch → parse_v1 → enrich → store. Set ``SPINE_FEATURE_USE_NEW_PARSER=1`` or use
``FeatureFlags.override`` and rebuild to get parse_v2. The spec's ``fetch``/``store`` lambdas
are named functions here so the catalog and YAML export can show where they live.
"""

from __future__ import annotations

from engine import FeatureFlags, Step, Workflow, workflow_step
from sample_workflows._common import run_and_show

# Register flags
FeatureFlags.register("use_new_parser", default=False,
                      description="Parse with the experimental v2 parser")
FeatureFlags.register("enable_enrichment", default=True,
                      description="Enrich parsed records from the external API")


@workflow_step(name="parse_v1")
def parse_v1(data: dict | None = None) -> dict:
    """Parse with the stable parser."""
    return {"parsed": True, "parser": "v1", "fields": len(data or {})}


@workflow_step(name="parse_v2")
def parse_v2(data: dict | None = None) -> dict:
    """Parse with the experimental parser."""
    return {"parsed": True, "parser": "v2_experimental", "fields": len(data or {})}


@workflow_step(name="enrich")
def enrich(parsed: bool = False) -> dict:
    """Add external attributes to parsed records."""
    return {"enriched": True, "source": "external_api"}


def fetch_data() -> dict:
    """Fetch the raw record."""
    return {"data": {"a": 1, "b": 2}}


def store() -> dict:
    """Store the result."""
    return {"stored": True}


def build_pipeline() -> Workflow:
    """The pipeline for the flags as they are now."""
    steps = [Step.from_function("fetch", fetch_data)]

    if FeatureFlags.is_enabled("use_new_parser"):
        steps.append(parse_v2.as_step())
    else:
        steps.append(parse_v1.as_step())

    if FeatureFlags.is_enabled("enable_enrichment"):
        steps.append(enrich.as_step())

    steps.append(Step.from_function("store", store))
    return Workflow(
        name="flagged.pipeline", steps=steps, domain="examples",
        description="Parser and enrichment chosen by feature flags at build time",
        tags=["basic", "feature-flags"],
    )


wf = build_pipeline()

if __name__ == "__main__":
    # Test with override
    with FeatureFlags.override("use_new_parser", True):
        experimental = build_pipeline()
        assert any(s.name == "parse_v2" for s in experimental.steps)
    run_and_show(wf)
    run_and_show(experimental)
