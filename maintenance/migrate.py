"""Bring a database's schema up to date: `alembic upgrade head`, run from code.

The Alembic configuration is built here, pointing at the migrations shipped inside this
package, so an installed facmon needs no alembic.ini and no working directory of its own.
Upgrading a current database is a no-op; an empty one gets every table.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from maintenance.sql import for_writing, make_engine

__all__ = ["MIGRATIONS", "alembic_config", "current_revision", "head_revision", "upgrade"]

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """An Alembic Config for `url` and the package's migrations (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation: a literal % in a URL (an escaped password) must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> str:
    """Migrate the database at `url` to `revision` (default: the newest); return the revision
    it is at now. The same engine settings as the store (WAL, foreign keys) apply, and the
    write lock is taken first, so two processes upgrading at once run one after the other."""
    config = alembic_config(url)
    engine = make_engine(url)
    try:
        with for_writing(engine).begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        return current_revision(url) or ""
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    """The newest revision shipped with this version of facmon."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return head
