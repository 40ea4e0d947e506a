"""/stream: the live stream of changes as server-sent events (api/stream.py has the feed)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.auth import Anyone
from api.routers.common import API_PREFIX, errors
from api.stream import ChangeFeed, sse_frames

__all__ = ["stream_router"]


def stream_router(feed: ChangeFeed) -> APIRouter:
    """The stream route over one change feed, which all subscribers share."""
    router = APIRouter(prefix=API_PREFIX, tags=["stream"], responses=errors())

    @router.get("/stream", response_class=StreamingResponse)
    async def stream(request: Request, _: Anyone) -> StreamingResponse:
        """Server-sent events: `alert`, `work_order` and `device` changes as JSON, and a
        keep-alive comment every 15 s. Roles: all."""
        frames = sse_frames(feed, request.is_disconnected)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(frames, media_type="text/event-stream", headers=headers)

    return router
