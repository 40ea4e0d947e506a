"""A thin InfluxDB adapter: line protocol to `/write`, InfluxQL to `/query`.

Speaks the v1 HTTP API that InfluxDB 1.x serves natively and 2.4+/3.x serve through their
v1-compatibility endpoints (`Authorization: Token ...`). It only moves data; retry and
spooling decisions live in the pipeline.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from typing import Any

import httpx


class InfluxUnavailable(Exception):
    """InfluxDB could not take the write now (connection error or 5xx); retrying is safe."""


class InfluxRejected(Exception):
    """InfluxDB refused the data itself (4xx): retrying the same lines cannot succeed."""


class InfluxClient:
    """Writes and queries one database over HTTP."""

    def __init__(
        self, url: str, database: str, token: str | None = None, timeout_s: float = 10.0
    ) -> None:
        headers = {"Authorization": f"Token {token}"} if token else {}
        self.database = database
        self._http = httpx.Client(base_url=url, headers=headers, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def write(self, lines: Sequence[str]) -> None:
        """Store lines (millisecond timestamps); returns only when InfluxDB answered 204."""
        body = gzip.compress("\n".join(lines).encode(), compresslevel=1)
        try:
            response = self._http.post(
                "/write",
                params={"db": self.database, "precision": "ms"},
                content=body,
                headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"},
            )
        except httpx.HTTPError as error:
            raise InfluxUnavailable(f"{type(error).__name__}: {error}") from error
        if response.status_code == 204:
            return
        message = f"HTTP {response.status_code}: {response.text[:300]}"
        if response.status_code >= 500 or response.status_code == 404:
            # 404 = database missing (dropped or not yet created): an outage, not bad data.
            raise InfluxUnavailable(message)
        raise InfluxRejected(message)

    def query(self, influxql: str, epoch: str | None = None) -> list[dict[str, Any]]:
        """Run InfluxQL and return the series of the first statement (empty if none).

        With `epoch` ("ms", "s"...) times come back as numbers in that unit, not RFC 3339 text.
        """
        params = {"db": self.database, "q": influxql, **({"epoch": epoch} if epoch else {})}
        try:
            response = self._http.post("/query", params=params)
        except httpx.HTTPError as error:
            raise InfluxUnavailable(f"{type(error).__name__}: {error}") from error
        if response.status_code >= 400:
            raise InfluxRejected(f"HTTP {response.status_code}: {response.text[:300]}")
        result = response.json()["results"][0]
        if "error" in result:
            raise InfluxRejected(result["error"])
        series: list[dict[str, Any]] = result.get("series", [])
        return series

    def ensure_database(self) -> None:
        """Create the database if it does not exist (CREATE DATABASE is idempotent)."""
        self.query(f'CREATE DATABASE "{self.database}"')

    def is_up(self) -> bool:
        """True when /ping answers; used to decide when to replay the spool."""
        try:
            return self._http.get("/ping", timeout=2.0).status_code == 204
        except httpx.HTTPError:
            return False
