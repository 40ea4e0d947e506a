"""Alembic's entry point: run the migrations on the connection maintenance.migrate passes in.

When run by the `alembic` command instead (for `alembic revision --autogenerate` during
development), it opens its own engine from `sqlalchemy.url`, with the same SQLite settings.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from maintenance.sql import make_engine, metadata


def run_on(connection: Connection) -> None:
    """Batch mode on SQLite: it alters a table by copying it, so later revisions can alter."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        run_on(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url, or run the migrations with `facmon db upgrade`")
    engine = make_engine(url)
    try:
        with engine.connect() as own:
            run_on(own)
    finally:
        engine.dispose()


def main() -> None:
    if context.is_offline_mode():
        raise SystemExit("offline (SQL script) migrations are unsupported: use `facmon db upgrade`")
    run_online()


# Only when Alembic runs this file: a plain import (pytest collecting doctests) does nothing.
if getattr(context, "_proxy", None) is not None:
    main()
