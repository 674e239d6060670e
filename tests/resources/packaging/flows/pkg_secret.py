"""A step whose config holds a secret reference: the archive keeps the reference, never the value."""

from __future__ import annotations

import hashlib

from engine import Step, Workflow


def use_token(token: str = "") -> dict:
    """Prove the value arrived by its digest, without returning it."""
    return {"digest": hashlib.sha256(token.encode()).hexdigest(), "length": len(token)}


secret_flow = Workflow("pkg.secret", [
    Step.from_function("use", use_token, config={"token": "secret:env:PKG_TOKEN"}),
], description="Uses a secret through a config reference", tags=["packaging", "secrets"])
