"""/me: who is calling (the key's name and role)."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import Anyone
from api.platform_schemas import CallerOut
from api.routers.common import API_PREFIX, errors

__all__ = ["me_router"]


def me_router() -> APIRouter:
    """/me: the caller's key."""
    router = APIRouter(prefix=API_PREFIX, tags=["keys"], responses=errors())

    @router.get("/me", response_model=CallerOut)
    def me(caller: Anyone) -> CallerOut:
        """Who this key belongs to and its role. Roles: all."""
        return CallerOut(id=caller.id, name=caller.name, role=caller.role.value)

    return router
