"""Writes tracked runs into a store for a while (multi-process concurrency test)."""

import sys
import time

from engine import Step, TrackedWorkflowRunner, Workflow


def work(ctx, config):
    print("line from", config["who"])
    return {"who": config["who"]}


if __name__ == "__main__":
    db, who, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    flow = Workflow(f"conc.{who}", steps=[Step.lambda_(f"s{i}", work, config={"who": who})
                                          for i in range(5)])
    runs = 0
    deadline = time.monotonic() + seconds
    with TrackedWorkflowRunner(db) as runner:
        while time.monotonic() < deadline:
            runner.execute(flow)
            runs += 1
    print(runs)
