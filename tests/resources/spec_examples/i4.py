from engine import WorkflowSpec

# Define workflow as YAML (could be loaded from file)
yaml_content = """
apiVersion: spine.io/v1
kind: Workflow
metadata:
  name: etl.sec_filings
  domain: sec
  description: Daily SEC filing ingestion pipeline
  tags: [sec, etl, daily]
spec:
  steps:
    - name: fetch
      pipeline: sec.fetch_filings
      config:
        form_type: "10-K"
    - name: validate
      pipeline: sec.validate_filings
      depends_on: [fetch]
      on_error: continue
    - name: normalize
      pipeline: sec.normalize_filings
      depends_on: [validate]
    - name: store
      pipeline: sec.store_filings
      depends_on: [normalize]
  policy:
    execution: parallel
    max_concurrency: 4
    on_failure: stop
"""

# Parse, validate, convert to runtime Workflow
spec = WorkflowSpec.from_yaml(yaml_content)
workflow = spec.to_workflow()

# Round-trip: runtime → spec → YAML → spec → runtime
spec2 = WorkflowSpec.from_workflow(workflow)
yaml_output = spec2.to_yaml()
spec3 = WorkflowSpec.from_yaml(yaml_output)
workflow2 = spec3.to_workflow()

assert workflow.name == workflow2.name
assert len(workflow.steps) == len(workflow2.steps)
