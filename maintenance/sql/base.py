"""What every record-kind store shares: the sessions, errors made plain, rows <-> values."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from typing import Any, TypeVar

from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from maintenance.sql.engine import for_writing, make_engine
from maintenance.sql.schema import Base, DatabaseNotMigrated
from maintenance.store import Duplicate, NotFound

__all__ = ["Sessions", "columns_of", "inserted", "plain_errors", "require", "values_of"]


class Sessions:
    """One database: a read and a write transaction per call (the record-kind stores below
    share it). Each method is one transaction; values returned are detached copies."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._check_schema()
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(for_writing(self.engine), expire_on_commit=False)

    def close(self) -> None:
        """Release pooled connections (tests on temporary files need this before cleanup)."""
        self.engine.dispose()

    def _check_schema(self) -> None:
        """Refuse a database whose schema is not the one this code was written for."""
        from maintenance.migrate import head_revision  # here: migrate imports this module

        with self.engine.connect() as connection:
            found = MigrationContext.configure(connection).get_current_revision()
        wanted = head_revision()
        if found != wanted:
            self.engine.dispose()
            where = self.engine.url.render_as_string(hide_password=True)
            raise DatabaseNotMigrated(
                f"{where} is at schema revision {found or 'none (empty)'}, this facmon needs "
                f"{wanted}: run `facmon db upgrade`"
            )

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with plain_errors(), self._reads() as session, session.begin():
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with plain_errors(), self._writes() as session, session.begin():
            yield session


@contextmanager
def plain_errors() -> Iterator[None]:
    """A bad value (a naive datetime, an unknown enum value) reaches the caller as the
    ValueError it is, not wrapped in SQLAlchemy's StatementError; a unique name taken twice
    is a Duplicate naming the constraint."""
    try:
        yield
    except IntegrityError as error:
        if "UNIQUE" in str(error.orig).upper() or "duplicate key" in str(error.orig):
            raise Duplicate(f"already exists ({str(error.orig).splitlines()[0]})") from error
        raise
    except StatementError as error:
        if isinstance(error.orig, ValueError):
            raise error.orig from error
        raise


R = TypeVar("R", bound=Base)


def inserted(session: Session, row: R) -> R:
    """The row added, with the id the database gave it."""
    session.add(row)
    session.flush()
    return row


def require(session: Session, table: type[R], key: int) -> R:
    """The row with this primary key, or NotFound naming what is missing."""
    row = session.get(table, key)
    if row is None:
        raise NotFound(f"no {table.__tablename__.removesuffix('s').replace('_', ' ')} {key}")
    return row


def values_of(value: Any) -> dict[str, Any]:
    """A dataclass's fields as column values, without its id (the database assigns that)."""
    return {f.name: getattr(value, f.name) for f in fields(value) if f.name != "id"}


def columns_of(row: Base, cls: type[Any]) -> dict[str, Any]:
    """The columns of `row` that `cls` (a dataclass) has fields for."""
    return {f.name: getattr(row, f.name) for f in fields(cls)}
