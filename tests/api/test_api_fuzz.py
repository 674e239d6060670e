"""A fuzz of the whole OpenAPI document (schemathesis): no request, however malformed, gets a
5xx, and every answer matches the schema the API documents for it (problems included)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from api_server import RESOURCES
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from spine_tui.server.app import create_app
from spine_tui.server.state import ServerConfig, open_state

_HOME = Path(tempfile.mkdtemp(prefix="spine-fuzz-"))
_STATE = open_state(ServerConfig.create([RESOURCES], db=_HOME / "spine.db", watch=False,
                                        managed_dir=_HOME / "workflows"))
_STATE.start_background()
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_STATE))


def teardown_module() -> None:
    _STATE.drain(grace=10)
    _STATE.close()


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_answers_match_the_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
