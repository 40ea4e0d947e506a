"""/catalogue: every equipment kind's metrics, units and physically possible ranges."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import Anyone
from api.platform_schemas import MetricSpecOut
from api.routers.common import API_PREFIX, errors
from facility import CATALOGUE, MetricSpec

__all__ = ["catalogue_router"]


def catalogue_router() -> APIRouter:
    """/catalogue: every kind's metrics."""
    router = APIRouter(prefix=API_PREFIX, tags=["catalogue"], responses=errors())

    @router.get("/catalogue", response_model=dict[str, list[MetricSpecOut]])
    def catalogue(_: Anyone) -> dict[str, list[MetricSpecOut]]:
        """Every kind's metrics: unit, gauge or counter, physically possible range. Roles: all."""
        return {kind.value: [_spec_out(s) for s in specs.values()]
                for kind, specs in CATALOGUE.items()}  # fmt: skip

    return router


def _spec_out(spec: MetricSpec) -> MetricSpecOut:
    return MetricSpecOut(name=spec.name, unit=spec.unit, type=spec.type.value, min=spec.minimum,
                         max=spec.maximum, description=spec.description)  # fmt: skip
