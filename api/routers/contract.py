"""/mqtt-contract: the MQTT contract for integrators (Markdown)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from api.auth import Anyone, ApiError
from api.routers.common import API_PREFIX, errors

__all__ = ["contract_router"]


def contract_router(contract_path: Path) -> APIRouter:
    """/mqtt-contract: the Markdown file at `contract_path`."""
    router = APIRouter(prefix=API_PREFIX, tags=["catalogue"], responses=errors(404))

    markdown: dict[int | str, dict[str, Any]] = {
        200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}
    }

    @router.get("/mqtt-contract", response_class=PlainTextResponse, responses=markdown)
    def contract(_: Anyone) -> PlainTextResponse:
        """The MQTT contract for integrators (Markdown). Roles: all."""
        try:
            text = contract_path.read_text(encoding="utf-8")
        except OSError as error:
            missing = (
                f"the MQTT contract is not installed here ({error}); see docs/mqtt-contract.md"
            )
            raise ApiError(404, "not_found", missing) from error
        return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")

    return router
