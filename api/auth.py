"""API keys: created once, stored hashed, revocable, each with one role.

A key is a random secret shown once. Only its SHA-256 is stored: the secret has 256 bits of
entropy, so a fast hash is enough (a slow password hash protects guessable secrets). Every
route names the roles it admits; admin is admitted everywhere.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.lockout import KeyGuard
from maintenance import ApiKey, Role, Store

__all__ = [
    "AlertReader",
    "Anyone",
    "ApiError",
    "Caller",
    "Integrator",
    "KpiReader",
    "Manager",
    "Reader",
    "RejectReader",
    "Worker",
    "create_key",
    "hash_key",
    "require",
]

KEY_PREFIX = "fmk_"
_bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


class ApiError(Exception):
    """An error the API reports as JSON with an HTTP status and a message a person can act on."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(store: Store, name: str, role: Role) -> tuple[ApiKey, str]:
    """A new key: (stored record, the secret to show once)."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = store.add_key(ApiKey(None, name, role, hash_key(secret), datetime.now(UTC)))
    return key, secret


class Caller:
    """Who is calling: the key's name (recorded in history) and role."""

    def __init__(self, key: ApiKey) -> None:
        self.id = key.id
        self.name = key.name
        self.role = key.role


def require(*roles: Role) -> Callable[..., Caller]:
    """A FastAPI dependency admitting the given roles (and admin): 401 without a valid key,
    403 with a valid key of another role, 429 from an address locked out for sending unknown
    keys (api/lockout.py; the app's `key_guard`)."""
    admitted = {*roles, Role.ADMIN}

    def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise ApiError(401, "unauthenticated", "send an API key: Authorization: Bearer <key>")
        key = _known_key(request, credentials.credentials)
        if key.role not in admitted:
            allowed = ", ".join(sorted(r.value for r in admitted))
            raise ApiError(
                403, "forbidden", f"role {key.role.value} may not do this; allowed: {allowed}"
            )
        return Caller(key)

    check.admitted = admitted  # type: ignore[attr-defined]  # read by the route-roles test
    return check


def _known_key(request: Request, secret: str) -> ApiKey:
    """The key `secret` names; an unknown or revoked one is a 401, counted against the
    caller's address, and a locked-out address is a 429 whatever key it sends."""
    guard: KeyGuard = request.app.state.key_guard
    address = request.client.host if request.client else "unknown"
    wait_s = guard.retry_after(address)
    if wait_s:
        raise ApiError(429, "locked_out", f"too many unknown API keys from {address}; "
                       f"try again in {wait_s} s", {"Retry-After": str(wait_s)})  # fmt: skip
    store: Store = request.app.state.store
    key = store.find_key(hash_key(secret))
    if key is None or key.revoked_at is not None:
        guard.failed(address)
        raise ApiError(401, "unauthenticated", "this API key is unknown or revoked")
    return key


# Callers admitted by role, for route signatures (admin is admitted everywhere).
Reader = Annotated[Caller, Depends(require(Role.VIEWER, Role.CREW, Role.MANAGER))]
Worker = Annotated[Caller, Depends(require(Role.CREW, Role.MANAGER))]
Manager = Annotated[Caller, Depends(require(Role.MANAGER))]
AlertReader = Annotated[Caller, Depends(require(Role.VIEWER, Role.CREW, Role.MANAGER,
                                                Role.INTEGRATOR))]  # fmt: skip
KpiReader = Annotated[Caller, Depends(require(Role.VIEWER, Role.MANAGER))]
Integrator = Annotated[Caller, Depends(require(Role.INTEGRATOR))]
RejectReader = Annotated[Caller, Depends(require(Role.INTEGRATOR, Role.MANAGER))]
Anyone = Annotated[Caller, Depends(require(*Role))]
