"""Schemathesis against the OpenAPI schema: generated requests, with a key, never get a 5xx.

The app runs on a real, migrated SQLite database in a temporary folder; the key is an admin's,
so every route is reached past its role check.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from api.app import create_app
from api.auth import create_key
from maintenance.desk import Desk
from maintenance.migrate import upgrade
from maintenance.sql import SqlStore
from maintenance.store import Role

pytestmark = pytest.mark.integration

_FOLDER = Path(tempfile.mkdtemp(prefix="facmon-schemathesis-"))
_URL = f"sqlite:///{_FOLDER}/facmon.db"
upgrade(_URL)
_STORE = SqlStore(_URL)
_APP = create_app(_STORE, Desk(_STORE, _STORE.sla_policies))
_, _SECRET = create_key(_STORE, "schemathesis", Role.ADMIN)

schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error(case: Any) -> None:
    response = case.call(headers={"Authorization": f"Bearer {_SECRET}"})
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
