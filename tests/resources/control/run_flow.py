"""Run one control-test workflow tracked in a store and print its result as JSON.

Usage: run_flow.py DB RUN_ID FLOW [PARAMS_JSON [POLICY_JSON]]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from flows import FLOWS  # noqa: E402

from engine import TrackedWorkflowRunner  # noqa: E402
from engine.workflow import ConcurrencyPolicy  # noqa: E402

if __name__ == "__main__":
    db, run_id, flow = sys.argv[1:4]
    params = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    policy = ConcurrencyPolicy(**json.loads(sys.argv[5])) if len(sys.argv) > 5 else None
    with TrackedWorkflowRunner(db, poll_interval=0.05) as runner:
        result = runner.execute(FLOWS[flow](), params, run_id=run_id, concurrency=policy,
                                source=str(Path(__file__).with_name("flows.py")))
    print(json.dumps({"status": result.status.value, "error": result.error,
                      "outputs": result.outputs}))
