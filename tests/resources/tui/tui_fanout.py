"""Fixture for the TUI tests: a parallel fan-out / fan-in DAG and a ManagedWorkflow chain."""

from __future__ import annotations

from engine import ExecutionMode, ManagedWorkflow, Step, Workflow, WorkflowExecutionPolicy


def fetch() -> dict:
    return {"symbols": ["ACME", "INIT"]}


def prices(symbols: list[str]) -> dict:
    return {"prices": {s: 1.0 for s in symbols}}


def volumes(symbols: list[str]) -> dict:
    return {"volumes": {s: 10 for s in symbols}}


def news(symbols: list[str]) -> dict:
    return {"headlines": []}


def merge(prices: dict, volumes: dict, headlines: list) -> dict:
    return {"report": {"prices": prices, "volumes": volumes, "news": headlines}}


def publish(report: dict, symbols: list[str]) -> dict:
    return {"published": len(symbols)}


market = Workflow(
    "tui.market.fanout",
    steps=[
        Step.from_function("fetch", fetch, depends_on=[]),
        Step.from_function("prices", prices, depends_on=["fetch"]),
        Step.from_function("volumes", volumes, depends_on=["fetch"]),
        Step.from_function("news", news, depends_on=["fetch"], timeout_seconds=5),
        Step.from_function("merge", merge, depends_on=["prices", "volumes", "news"]),
        Step.from_function("publish", publish, depends_on=["merge", "fetch"]),
    ],
    domain="markets",
    description="Fetch symbols, gather prices, volumes and news in parallel, merge and publish.",
    version=2,
    tags=["parallel", "reports"],
    execution_policy=WorkflowExecutionPolicy(mode=ExecutionMode.PARALLEL, max_concurrency=3),
)


def greet(name: str = "World") -> dict:
    return {"message": f"Hello, {name}!"}


def shout(message: str = "") -> dict:
    return {"shouted": message.upper()}


hello = (
    ManagedWorkflow("tui.hello", domain="examples", description="Greets, then shouts.",
                    tags=["demo"])
    .step("greet", greet, config={"name": "spine"})
    .step("shout", shout)
    .build()
)
