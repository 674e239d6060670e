from engine import FeatureFlags
from engine import Workflow, Step
from engine import workflow_step

# Register flags
FeatureFlags.register("use_new_parser", default=False)
FeatureFlags.register("enable_enrichment", default=True)

@workflow_step(name="parse_v1")
def parse_v1(data: dict = None) -> dict:
    return {"parsed": True, "parser": "v1", "fields": len(data or {})}

@workflow_step(name="parse_v2")
def parse_v2(data: dict = None) -> dict:
    return {"parsed": True, "parser": "v2_experimental", "fields": len(data or {})}

@workflow_step(name="enrich")
def enrich(parsed: bool = False) -> dict:
    return {"enriched": True, "source": "external_api"}

def build_pipeline() -> Workflow:
    steps = [Step.from_function("fetch", lambda: {"data": {"a": 1, "b": 2}})]

    if FeatureFlags.is_enabled("use_new_parser"):
        steps.append(parse_v2.as_step())
    else:
        steps.append(parse_v1.as_step())

    if FeatureFlags.is_enabled("enable_enrichment"):
        steps.append(enrich.as_step())

    steps.append(Step.from_function("store", lambda: {"stored": True}))
    return Workflow(name="flagged.pipeline", steps=steps)

# Test with override
with FeatureFlags.override("use_new_parser", True):
    wf = build_pipeline()
    assert any(s.name == "parse_v2" for s in wf.steps)
