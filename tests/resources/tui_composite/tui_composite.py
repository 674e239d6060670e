"""Fixture for the TUI tests: a workflow with a map step and a sub-workflow step (the DAG
viewer opens both in place), and the child workflow it calls."""

from __future__ import annotations

from engine import Step, Workflow


def load() -> dict:
    return {"orders": [{"order_id": "A1", "amount": 12.5}, {"order_id": "B2", "amount": 3.0}]}


def clean(order_id: str, amount: float) -> dict:
    return {"order_id": order_id.strip(), "amount": round(amount, 2)}


def score(amount: float) -> dict:
    return {"score": amount * 2}


def check(orders: list) -> dict:
    return {"checked": len(orders)}


def book(checked: int) -> dict:
    return {"booked": checked}


def report(results: list, booked: int) -> dict:
    return {"report": {"scored": len(results), "booked": booked}}


settlement = Workflow(
    "tui.composite.settle",
    steps=[
        Step.from_function("check", check),
        Step.from_function("book", book, description="Book the checked orders."),
    ],
    description="Check and book a batch of orders (called by tui.composite.orders).",
)

orders = Workflow(
    "tui.composite.orders",
    steps=[
        Step.from_function("load", load, depends_on=[]),
        Step.map("score_each", items_path="$.outputs.load.orders", depends_on=["load"],
                 iterator_steps=[Step.from_function("clean", clean),
                                 Step.from_function("score", score)]),
        Step.workflow("settle", "tui.composite.settle", depends_on=["load"]),
        Step.from_function("report", report, depends_on=["score_each", "settle"]),
    ],
    description="Score every order (a map) and settle the batch (a sub-workflow).",
)
