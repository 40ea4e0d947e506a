"""/dead-letters: what ingest refused and why."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import RejectReader
from api.platform_schemas import DeadLetterOut, DeadLettersOut
from api.routers.common import API_PREFIX, errors, iso
from api.sources import IngestRecords

__all__ = ["dead_letters_router"]


def dead_letters_router(ingest: IngestRecords) -> APIRouter:
    """The dead-letter route over ingest's records."""
    router = APIRouter(prefix=API_PREFIX, tags=["dead letters"], responses=errors())

    @router.get("/dead-letters", response_model=DeadLettersOut)
    def dead_letters(
        _: RejectReader,
        reason: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> DeadLettersOut:
        """What ingest refused and why (counts per reason, the latest refusals). Roles:
        integrator, manager, admin."""
        items = ingest.dead_letters(reason, limit)
        return DeadLettersOut(counts=ingest.dead_letter_counts(),
                              items=[DeadLetterOut(received_at=iso(d.received_ms), topic=d.topic,
                                                   reason=d.reason, detail=d.detail,
                                                   payload=d.payload,
                                                   payload_bytes=d.payload_bytes)
                                     for d in items])  # fmt: skip

    return router
