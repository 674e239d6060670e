"""Answer a model as JSON with pydantic's own serializer.

FastAPI validates a route's returned model again and encodes it through ``jsonable_encoder``
(≈ 1.1 ms for a page of 50 runs); the models here are built by the server from stored records,
so ``model_dump_json`` (≈ 0.07 ms) gives the same bytes without the second pass. Routes that
use it declare ``response_model`` so the OpenAPI document is unchanged.
"""

from __future__ import annotations

from pydantic import BaseModel
from starlette.responses import Response


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status_code,
                    media_type="application/json")
