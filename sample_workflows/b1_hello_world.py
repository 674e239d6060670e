"""Hello world: two plain functions chained with ManagedWorkflow (spec example B1).

``greet`` gets ``name`` from its step config; ``shout`` gets ``message`` from greet's output,
because plain functions read step config, then run params, then earlier outputs.
"""

from __future__ import annotations

from engine import ManagedWorkflow


# Plain functions — no spine imports needed
def greet(name: str = "World") -> dict:
    """Build a greeting for ``name``."""
    return {"message": f"Hello, {name}!"}


def shout(message: str = "") -> dict:
    """Upper-case the greeting."""
    return {"shouted": message.upper()}


wf = (
    ManagedWorkflow("hello.world", domain="examples",
                    description="Greet someone, then shout the greeting",
                    tags=["basic", "managed", "example"])
    .step("greet", greet, config={"name": "spine-core"})
    .step("shout", shout)
    .build()
)

if __name__ == "__main__":
    result = wf.run()
    wf.show()
