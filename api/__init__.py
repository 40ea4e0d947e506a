"""The REST API (FastAPI) under /api/v1: work orders, alerts, SLA policies, PM plans, KPIs."""

from api.app import create_app
from api.auth import create_key

__all__ = ["create_app", "create_key"]
