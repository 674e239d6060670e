"""CLI fixture: registers the pipelines the YAML workflow beside it names."""

from __future__ import annotations

from engine import register_pipeline


def double(x: int = 1) -> dict:
    return {"doubled": x * 2}


register_pipeline("cli.yaml.double", double)
