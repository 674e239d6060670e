"""Swap a job adapter's config between jobs without a restart (spec example A5).

A ``HotReloadAdapter`` builds its adapter from a config (``adapter_factory(config)``) and
rebuilds it when the config changes — here through ``update_config`` from a step, in a dev
server from an edited ``config_path`` file or factory module. Jobs get the config's ``env``
(under their own) and its ``timeout`` (when they set none): the first job sees
``LOG_LEVEL=INFO``, the one after the reload sees ``DEBUG``. A job keeps the adapter that
started it; only the next submission uses the new one.

The steps that change or read the adapter (``start_on_v1``, ``reload_v2``, ``compare``) run on
``executor="threads"``: the adapter lives in the coordinating process, where job steps always
run, so on ``--executor processes`` or ``dask`` they still act on it instead of on a worker's
copy of this module.
"""

from __future__ import annotations

from engine import (
    ContainerRunnable,
    HotReloadAdapter,
    JobEngine,
    LocalProcessAdapter,
    RuntimeAdapterRouter,
    Step,
    Workflow,
)
from sample_workflows._common import run_and_show

V1 = {"image": "spine-pipeline:v1", "timeout": 30, "env": {"LOG_LEVEL": "INFO"}}
V2 = {"image": "spine-pipeline:v2", "timeout": 60, "env": {"LOG_LEVEL": "DEBUG"}}

SHOW_CONFIG = """
import json, os
print(json.dumps({"log_level": os.environ["LOG_LEVEL"], "job": os.environ["SPINE_JOB_ID"]}))
"""


def adapter_factory(config: dict) -> LocalProcessAdapter:
    """A fresh adapter whenever the config changes (its image is ignored locally)."""
    return LocalProcessAdapter()


hot = HotReloadAdapter(initial_config=V1, adapter_factory=adapter_factory)
router = RuntimeAdapterRouter()
router.register(hot)
runnable = ContainerRunnable(JobEngine(router=router))
runnable.register("dev.show_config", ["python", "-c", SHOW_CONFIG])


def start_on_v1() -> dict:
    """Begin every run from the v1 config, so a second run shows the same reload."""
    hot.update_config(V1)
    return {"config_image": hot.current_config["image"]}


def reload_v2() -> dict:
    """Change the config, as a file watcher or an API call would."""
    before = hot.reload_count
    hot.update_config(V2)
    return {"config_image": hot.current_config["image"], "reloaded": hot.reload_count > before}


def compare(ctx, config) -> dict:
    """What each job saw."""
    first = ctx.get_output("before")["log_level"]
    second = ctx.get_output("after")["log_level"]
    return {"before": first, "after": second, "changed": first != second,
            "reload_count": hot.reload_count}


wf = Workflow(
    name="jobs.hot_reload_dev",
    steps=[
        Step.from_function("start_on_v1", start_on_v1).with_changes(executor="threads"),
        Step.pipeline("before", "dev.show_config"),
        Step.from_function("reload_v2", reload_v2).with_changes(executor="threads"),
        Step.pipeline("after", "dev.show_config"),
        Step.lambda_("compare", compare).with_changes(executor="threads"),
    ],
    domain="examples",
    description="Reload a job adapter's config between two jobs; the second sees the new env",
    tags=["advanced", "jobs", "hot-reload"],
)

if __name__ == "__main__":
    run_and_show(wf)
    print(f"current config: {hot.current_config} (reloads: {hot.reload_count})")
