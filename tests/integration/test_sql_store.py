"""What only SqlStore has: SQLite settings, two processes racing, devices and crews, migrations.

What every Store promises is checked for every implementation in test_store_contract.py. Two
stores on one file stand in for two processes: when they race on one work order, exactly one
wins and the other gets VersionConflict.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from facility import ForecastRun, Settings
from facmon import db_cmd
from maintenance.domain import Action, Priority, Status, WorkOrder, apply_action
from maintenance.migrate import current_revision, head_revision, upgrade
from maintenance.sla import BusinessCalendar, SlaPolicy
from maintenance.sql import (
    Crew,
    DatabaseNotMigrated,
    DeviceInfo,
    SqlStore,
    Technician,
    make_engine,
    metadata,
)
from maintenance.store import (
    NotFound,
    VersionConflict,
    WorkOrderQuery,
)
from tests.integration.test_store_contract import (
    NOW_MS,
    OSLO,
    T0,
    forecast_run,
    full_order,
    migrated_url,
    new_order,
)

pytestmark = pytest.mark.integration


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


# --- stores ----------------------------------------------------------------------------------


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A migrated SQLite file."""
    url = sqlite_url(tmp_path / "facmon.db")
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated database of each backend, for one or several stores."""
    return migrated_url(request, tmp_path)


@pytest.fixture
def store(shared_url: str) -> Iterator[SqlStore]:
    """A store on a freshly migrated database of each backend."""
    opened = SqlStore(shared_url)
    yield opened
    opened.close()


@pytest.fixture
def two_stores(db_url: str) -> Iterator[tuple[SqlStore, SqlStore]]:
    """Two independent stores (own engines, own connections) on one SQLite file."""
    first, second = SqlStore(db_url), SqlStore(db_url)
    yield first, second
    first.close()
    second.close()


# --- SQLite settings -------------------------------------------------------------------------


def test_sqlite_file_is_in_wal_mode_with_foreign_keys_enforced(db_url: str, tmp_path: Path) -> None:
    store = SqlStore(db_url)
    store.add_order(new_order())
    with sqlite3.connect(tmp_path / "facmon.db") as raw:  # a plain connection, not ours
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
        orphan = (
            "INSERT INTO comments (work_order_id, author, text, at)"
            " VALUES (999, 'a', 'b', '2025-01-01')"
        )
        with pytest.raises(IntegrityError, match="FOREIGN KEY"):
            connection.exec_driver_sql(orphan)
    store.close()


# --- concurrency: two stores on one file ------------------------------------------------------


def test_stale_version_loses_and_overwrites_nothing(
    two_stores: tuple[SqlStore, SqlStore],
) -> None:
    first, second = two_stores
    order = first.add_order(new_order())
    seen_by_first, seen_by_second = first.get_order(order.id or 0), second.get_order(order.id or 0)
    winner = first.update_order(apply_action(seen_by_first, Action.START, "ana", T0), 1)
    with pytest.raises(VersionConflict, match="reload"):
        second.update_order(apply_action(seen_by_second, Action.CANCEL, "ben", T0), 1)
    assert second.get_order(order.id or 0) == winner
    assert [e.actor for e in winner.history] == ["ana"]


def test_racing_updates_exactly_one_wins(two_stores: tuple[SqlStore, SqlStore]) -> None:
    """Both threads read version 1 and update at the same moment (a barrier), many times."""
    stores = two_stores
    for round_ in range(20):
        order = stores[0].add_order(new_order(title=f"race {round_}"))
        seen = [s.get_order(order.id or 0) for s in stores]
        barrier = threading.Barrier(2)
        outcomes: dict[str, object] = {}

        def update(i: int, actor: str, seen: list[WorkOrder] = seen,
                   barrier: threading.Barrier = barrier,
                   outcomes: dict[str, object] = outcomes) -> None:  # fmt: skip
            changed = replace(apply_action(seen[i], Action.ACKNOWLEDGE, actor, T0), assignee=actor)
            barrier.wait()
            try:
                outcomes[actor] = stores[i].update_order(changed, expected_version=1)
            except VersionConflict as conflict:
                outcomes[actor] = conflict

        threads = [threading.Thread(target=update, args=(i, a)) for i, a in enumerate("xy")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        winners = [a for a, o in outcomes.items() if isinstance(o, WorkOrder)]
        losers = [a for a, o in outcomes.items() if isinstance(o, VersionConflict)]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        stored = stores[1].get_order(order.id or 0)
        assert stored.assignee == winners[0] and stored.version == 2
        assert [e.actor for e in stored.history] == winners


# --- devices, crews, technicians -------------------------------------------------------------


def test_upsert_device_inserts_then_updates_in_place(store: SqlStore) -> None:
    device = DeviceInfo(None, "riverside", "elevator", "lift-1", "Block A", "B1", "core",
                        "Kone MonoSpace 500", date(2014, 6, 30), 1)  # fmt: skip
    first = store.upsert_device(device)
    assert first.id is not None
    assert store.devices() == [first]
    assert store.sites() == ["riverside"]
    moved = replace(device, building="Block B", install_date=None, criticality=2)
    second = store.upsert_device(moved)
    assert second.id == first.id
    assert store.devices("riverside") == [replace(moved, id=first.id)]
    other = store.upsert_device(replace(device, name="lift-2"))
    assert [d.name for d in store.devices()] == ["lift-1", "lift-2"] and other.id != first.id
    assert store.devices("hillside") == []


def test_crews_and_technicians(store: SqlStore) -> None:
    north = store.add_crew(Crew(None, "north", "riverside"))
    store.add_crew(Crew(None, "roaming"))
    assert store.crews() == [north, Crew(north.id + 1 if north.id else None, "roaming")]
    maria = store.add_technician(Technician(None, "maria", "north", "+47 555 0101"))
    solo = store.add_technician(Technician(None, "olaf"))
    assert store.technicians() == [maria, solo]
    assert store.technicians(crew="north") == [maria]
    with pytest.raises(NotFound, match="no crew named 'south'"):
        store.add_technician(Technician(None, "sam", "south"))


# --- SLA policies and PM plans ---------------------------------------------------------------


def test_sla_calendar_zone_needs_an_iana_name(store: SqlStore) -> None:
    fixed = BusinessCalendar(zone=OSLO)
    with pytest.raises(ValueError, match="IANA"):
        store.add_sla_policy(SlaPolicy(None, "fixed", Priority.P2, None, 60, 600, fixed))


# --- migrations ------------------------------------------------------------------------------


def test_upgrade_creates_the_schema_the_models_describe(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "new.db")
    assert current_revision(url) is None
    assert upgrade(url) == head_revision() == "0007"
    engine = make_engine(url)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    engine.dispose()


def test_upgrade_of_a_current_database_is_a_no_op(db_url: str) -> None:
    store = SqlStore(db_url)
    order = store.add_order(full_order())
    store.close()
    assert upgrade(db_url) == "0007"
    assert SqlStore(db_url).get_order(order.id or 0) == order


def test_an_older_database_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "old.db")
    assert upgrade(url, "0001") == "0001"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO work_orders (title, priority, status, opened_at, description, version)"
            " VALUES ('from 0001', 'P2', 'open', '2025-03-14 09:26:53.589793', '', 1)"
        )
    assert "ix_work_orders_status_priority" not in index_names(engine, "work_orders")
    with pytest.raises(DatabaseNotMigrated, match=r"revision 0001.*facmon db upgrade"):
        SqlStore(url)
    assert upgrade(url) == "0007"
    assert "ix_work_orders_status_priority" in index_names(engine, "work_orders")
    assert "ix_alerts_site_device_signature" in index_names(engine, "alerts")
    assert "ix_work_orders_site_queue" in index_names(engine, "work_orders")  # from 0003
    engine.dispose()
    [order] = SqlStore(url).list_orders(WorkOrderQuery())
    assert (order.title, order.opened_at, order.status) == ("from 0001", T0, Status.OPEN)


def test_store_refuses_an_empty_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseNotMigrated, match="none"):
        SqlStore(sqlite_url(tmp_path / "empty.db"))


def index_names(engine: object, table: str) -> set[str]:
    return {ix["name"] or "" for ix in inspect(engine).get_indexes(table)}


# --- facmon db upgrade -----------------------------------------------------------------------


def test_db_upgrade_command_creates_the_folder_and_is_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "var" / "nested" / "facmon.db"
    settings = Settings(database_url=sqlite_url(path))
    args = argparse.Namespace(url=None)
    assert db_cmd.run(settings, args) == 0
    first = capsys.readouterr().out
    assert path.exists() and first.strip().endswith("at revision 0007")
    assert db_cmd.run(settings, args) == 0
    assert capsys.readouterr().out == first
    with contextlib.closing(sqlite3.connect(path)) as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchall() == [("0007",)]


def test_db_upgrade_command_parses_its_arguments(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    db_cmd.add_arguments(parser)
    url = sqlite_url(tmp_path / "cli.db")
    args = parser.parse_args(["upgrade", "--url", url])
    assert args.handler is db_cmd.run
    assert args.handler(Settings(database_url="sqlite:///unused.db"), args) == 0
    assert current_revision(url) == "0007"
    assert not Path("unused.db").exists()


# --- forecasts: two analytics processes, a restart -------------------------------------------


def test_two_writers_refreshing_at_once_leave_one_whole_run_the_newest(shared_url: str) -> None:
    """Each round, two stores (two analytics processes) replace the forecasts at the same
    moment: the newer run is what stays, whole, whoever commits last; no error, no mix."""
    stores = [SqlStore(shared_url), SqlStore(shared_url)]
    for round_ in range(10):
        at = NOW_MS + round_ * 10_000
        runs = [forecast_run(at, "lift-1", "lift-2"), forecast_run(at + 1, "lift-3", "lift-4")]
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def write(i: int, runs: list[ForecastRun] = runs, barrier: threading.Barrier = barrier,
                  errors: list[BaseException] = errors) -> None:  # fmt: skip
            barrier.wait()
            try:
                stores[i].replace_forecasts(runs[i])
            except Exception as error:  # reported below, with the round
                errors.append(error)

        threads = [threading.Thread(target=write, args=(i,)) for i in (1, 0)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == [], (round_, errors)
        assert stores[0].latest_forecasts() == runs[1], round_
    for store in stores:
        store.close()
    restarted = SqlStore(shared_url)  # a restart reads what the last refresh wrote
    assert [f.device for f in restarted.latest_forecasts().devices] == ["lift-3", "lift-4"]
    restarted.close()
