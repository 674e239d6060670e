"""``--artifacts URL`` for ``run`` and ``serve``: which artifact store runs hand their steps.

The choice is ``--artifacts``, else ``$SPINE_ARTIFACTS``, else the profile's ``artifacts:`` in
``spine.yaml``, else a local folder beside the run store; a store that cannot be used is bad
input (exit 2) before any workflow code is imported.
"""

from __future__ import annotations

import argparse
from typing import Any

import engine
from engine import ArtifactError, ArtifactStore, artifact_location, open_artifact_store

from ._io import CliError

ARTIFACTS_HELP = ("where steps' artifacts go (ctx.artifact_store): s3://BUCKET/PREFIX, "
                  "gs://BUCKET/PREFIX, memory://NAME, file:///PATH or a folder (default: "
                  "$SPINE_ARTIFACTS, else the profile's 'artifacts:' in spine.yaml, else "
                  "artifacts/ beside the run store); for a non-AWS S3 endpoint set "
                  "$SPINE_S3_ENDPOINT_URL")
_HINT = ("use s3://BUCKET/PREFIX (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
         "or AWS_PROFILE; endpoint from $SPINE_S3_ENDPOINT_URL), gs://BUCKET/PREFIX, "
         "memory://NAME or a folder path")


def add_artifacts_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--artifacts", metavar="URL", default=None, help=ARTIFACTS_HELP)


def chosen_location(args: argparse.Namespace) -> Any:
    """The location ``--artifacts``, the environment or the profile names; None for the
    default. A broken ``spine.yaml`` is a ``CliError`` naming its line."""
    try:
        return artifact_location(getattr(args, "artifacts", None))
    except engine.ConfigError as exc:
        raise CliError(f"cannot read the artifact store setting: {exc}",
                       hint="fix spine.yaml, or give the store with --artifacts URL") from None


def open_chosen_store(args: argparse.Namespace) -> ArtifactStore | None:
    """The store to hand ``TrackedWorkflowRunner(artifact_store=)``; None keeps its default."""
    location = chosen_location(args)
    if location is None:
        return None
    try:
        return open_artifact_store(location)
    except ArtifactError as exc:
        raise CliError(str(exc), hint=_HINT) from None
