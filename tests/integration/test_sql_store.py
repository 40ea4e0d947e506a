"""SqlStore and the migrations against real SQLite files (and PostgreSQL where installed).

Every Store method must give back exactly what went in: timezone-aware UTC datetimes (SQLite
keeps none), enum members, tuples. Two stores on one file stand in for two processes: when
they race on one work order, exactly one wins and the other gets VersionConflict.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import glob
import importlib.util
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from facility import Settings
from facmon import db_cmd
from maintenance.domain import Action, HistoryEntry, Priority, Status, WorkOrder, apply_action
from maintenance.migrate import current_revision, head_revision, upgrade
from maintenance.pm import EveryDays, EveryUsage, PmPlan, WhenForecast
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
    AlertRecord,
    AlertState,
    ApiKey,
    Comment,
    Duplicate,
    NotFound,
    Role,
    VersionConflict,
    WorkOrderQuery,
)

pytestmark = pytest.mark.integration

T0 = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
OSLO = timezone(timedelta(hours=1))  # a non-UTC offset going in must come out as UTC


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


# --- PostgreSQL, where the machine has it ------------------------------------------------------


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl") or next(
        iter(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")), None
    )
    return None if found is None else Path(found).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _server_user() -> list[str]:
    """The command prefix that runs PostgreSQL's programs: they refuse to run as root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no postgres user for initdb to run as")
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server (initdb + pg_ctl) on a free port; its URL without a
    database name. Its data lives in a folder of its own that the server's user can reach."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (no pg_ctl on PATH or in /usr/lib/postgresql)")
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip("PostgreSQL is installed but the psycopg driver is not: pip install psycopg")
    as_server, port = _server_user(), _free_port()
    data = Path(tempfile.mkdtemp(prefix="facmon-pg-"))
    if as_server:
        user = pwd.getpwnam("postgres")
        os.chown(data, user.pw_uid, user.pw_gid)
    run = functools.partial(subprocess.run, check=True, capture_output=True, timeout=120)
    pg_ctl: list[str | Path] = [*as_server, bin_dir / "pg_ctl", "-D", data]
    run([*as_server, bin_dir / "initdb", "-D", data, "-U", "facmon", "--auth=trust"])
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    try:
        # -l: the server writes its log there, not to our pipes (which it would hold open)
        run([*pg_ctl, "-o", options, "-l", data / "server.log", "-w", "start"])
        yield f"postgresql+psycopg://facmon@127.0.0.1:{port}"
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "stop"], check=False, capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty database of this test's own on the session server."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"{postgres_server}/{name}"


# --- stores ----------------------------------------------------------------------------------


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A migrated SQLite file."""
    url = sqlite_url(tmp_path / "facmon.db")
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """A store on a freshly migrated database of each backend."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "facmon.db")
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade(url)
    opened = SqlStore(url)
    yield opened
    opened.close()


@pytest.fixture
def two_stores(db_url: str) -> Iterator[tuple[SqlStore, SqlStore]]:
    """Two independent stores (own engines, own connections) on one SQLite file."""
    first, second = SqlStore(db_url), SqlStore(db_url)
    yield first, second
    first.close()
    second.close()


def new_order(**changes: object) -> WorkOrder:
    order = WorkOrder(None, "Pump P-2 vibration", Priority.P2, Status.OPEN, T0)
    return replace(order, **changes)  # type: ignore[arg-type]


def full_order() -> WorkOrder:
    """Every field set to something other than its default, datetimes in two zones."""
    return WorkOrder(
        id=None,
        title="Lift L1 door reversals",
        priority=Priority.P1,
        status=Status.ON_HOLD,
        opened_at=T0,
        site="riverside",
        device="lift-1",
        kind="elevator",
        description="Door reopens on every floor.\nSuspect the light curtain.",
        alert_signature="door_reversals:high",
        response_due=T0 + timedelta(minutes=30),
        resolve_due=(T0 + timedelta(hours=4)).astimezone(OSLO),
        acknowledged_at=(T0 + timedelta(minutes=7, microseconds=1)).astimezone(OSLO),
        resolved_at=T0 + timedelta(hours=1),
        closed_at=T0 + timedelta(hours=2),
        assignee="maria",
        repeat_of=None,
        version=4,
        history=(
            HistoryEntry(T0, "telemetry", "open", None, Status.OPEN, "opened by alert"),
            HistoryEntry(
                T0 + timedelta(minutes=7), "maria", "start", Status.OPEN, Status.IN_PROGRESS
            ),
            HistoryEntry(
                (T0 + timedelta(minutes=9)).astimezone(OSLO),
                "maria",
                "hold",
                Status.IN_PROGRESS,
                Status.ON_HOLD,
                "waiting for a part",
            ),
        ),
    )


def datetimes_of(value: object) -> list[datetime]:
    return [v for v in vars(value).values() if isinstance(v, datetime)]


def assert_utc(value: object) -> None:
    for moment in datetimes_of(value):
        assert moment.tzinfo is UTC, moment


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


# --- work orders -----------------------------------------------------------------------------


def test_order_round_trips_every_field_exactly(store: SqlStore) -> None:
    earlier = store.add_order(new_order())
    order = replace(full_order(), repeat_of=earlier.id)
    added = store.add_order(order)
    assert added.id is not None and added.id != earlier.id
    loaded = store.get_order(added.id)
    assert loaded == replace(order, id=added.id)
    assert loaded.history == order.history
    assert type(loaded.history) is tuple
    assert type(loaded.status) is Status and type(loaded.priority) is Priority
    assert loaded.history[0].from_status is None
    assert_utc(loaded)
    for entry in loaded.history:
        assert_utc(entry)


def test_naive_datetimes_are_refused_and_nothing_is_stored(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        store.add_order(new_order(opened_at=datetime(2025, 1, 1, 12, 0)))
    assert store.list_orders(WorkOrderQuery()) == []


def test_add_order_refuses_a_stored_order_and_a_missing_repeat(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="already stored"):
        store.add_order(new_order(id=7))
    with pytest.raises(NotFound, match="work order 404"):
        store.add_order(new_order(repeat_of=404))


def test_history_is_kept_in_order(store: SqlStore) -> None:
    order = store.add_order(new_order())
    order_id = order.id or 0
    same_moment = T0 + timedelta(minutes=5)  # equal timestamps: the order comes from seq
    steps = [(Action.ACKNOWLEDGE, "ana"), (Action.START, "ben"), (Action.HOLD, "ben"),
             (Action.RESUME, "carl"), (Action.RESOLVE, "carl")]  # fmt: skip
    for action, actor in steps:
        changed = apply_action(order, action, actor, same_moment, note=f"{actor} did it")
        order = store.update_order(changed, expected_version=order.version)
    loaded = store.get_order(order_id)
    assert [(e.action, e.actor) for e in loaded.history] == [(a.value, p) for a, p in steps]
    assert [e.to_status for e in loaded.history][-1] is Status.RESOLVED
    assert loaded.version == 1 + len(steps)
    assert loaded.acknowledged_at == same_moment and loaded.resolved_at == same_moment


def test_one_update_may_append_several_entries(store: SqlStore) -> None:
    order = store.add_order(new_order())
    twice = apply_action(apply_action(order, Action.START, "ana", T0), Action.HOLD, "ana", T0)
    stored = store.update_order(twice, expected_version=1)
    assert stored.version == 3
    assert [e.action for e in store.get_order(stored.id or 0).history] == ["start", "hold"]


def test_update_without_a_version_bump_still_moves_the_version(store: SqlStore) -> None:
    order = store.add_order(new_order())
    stored = store.update_order(replace(order, assignee="dan"), expected_version=1)
    assert stored.version == 2
    with pytest.raises(VersionConflict):
        store.update_order(replace(order, assignee="eve"), expected_version=1)
    assert store.get_order(order.id or 0).assignee == "dan"


def test_shorter_history_is_refused_and_changes_nothing(store: SqlStore) -> None:
    order = store.add_order(new_order())
    started = store.update_order(apply_action(order, Action.START, "ana", T0), 1)
    rewritten = replace(started, history=(), title="rewritten", version=3)
    with pytest.raises(ValueError, match="append-only"):
        store.update_order(rewritten, expected_version=2)
    assert store.get_order(order.id or 0) == started


def test_missing_orders_are_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFound, match="work order 12345"):
        store.get_order(12345)
    with pytest.raises(NotFound, match="work order 12345"):
        store.update_order(new_order(id=12345, version=2), expected_version=1)


def test_list_orders_filters_and_sorts_most_urgent_then_oldest(store: SqlStore) -> None:
    def add(title: str, priority: Priority, minutes: int, **more: object) -> None:
        store.add_order(new_order(title=title, priority=priority,
                                  opened_at=T0 + timedelta(minutes=minutes), **more))  # fmt: skip

    add("p3 old", Priority.P3, 0, site="a")
    add("p1 new", Priority.P1, 30, site="a", device="lift-1", kind="elevator")
    add("p1 old", Priority.P1, 10, site="b", status=Status.IN_PROGRESS)
    add("p2", Priority.P2, 5, site="a", device="pump-1", kind="pump")
    titles = [o.title for o in store.list_orders(WorkOrderQuery())]
    assert titles == ["p1 old", "p1 new", "p2", "p3 old"]
    assert [o.title for o in store.list_orders(WorkOrderQuery(site="a", limit=2))] == [
        "p1 new",
        "p2",
    ]
    assert [o.title for o in store.list_orders(WorkOrderQuery(status=Status.IN_PROGRESS))] == [
        "p1 old"
    ]
    either = WorkOrderQuery(status=frozenset({Status.IN_PROGRESS, Status.OPEN}), site="b")
    assert [o.title for o in store.list_orders(either)] == ["p1 old"]
    several = WorkOrderQuery(status=frozenset({Status.OPEN, Status.ON_HOLD}))
    assert [o.title for o in store.list_orders(several)] == ["p1 new", "p2", "p3 old"]
    assert [o.title for o in store.list_orders(WorkOrderQuery(kind="pump"))] == ["p2"]
    assert [o.title for o in store.list_orders(WorkOrderQuery(device="lift-1"))] == ["p1 new"]
    assert [o.title for o in store.list_orders(WorkOrderQuery(priority=Priority.P3))] == ["p3 old"]


def test_open_order_for_finds_only_active_orders(store: SqlStore) -> None:
    signature = "bearing_wear:vibration"
    where = {"site": "a", "device": "pump-1", "alert_signature": signature}
    for status in (Status.RESOLVED, Status.CLOSED, Status.CANCELLED):
        store.add_order(new_order(status=status, **where))
    assert store.open_order_for("a", "pump-1", signature) is None
    active = store.add_order(new_order(status=Status.ON_HOLD, **where))
    store.add_order(new_order(**(where | {"device": "pump-2"})))
    store.add_order(new_order(**(where | {"alert_signature": "other"})))
    assert store.open_order_for("a", "pump-1", signature) == active
    assert store.open_order_for("b", "pump-1", signature) is None
    store.update_order(apply_action(active, Action.RESOLVE, "ana", T0), active.version)
    assert store.open_order_for("a", "pump-1", signature) is None


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


# --- comments, alerts, keys ------------------------------------------------------------------


def test_comments_round_trip_oldest_first(store: SqlStore) -> None:
    order = store.add_order(new_order())
    oid = order.id or 0
    later = store.add_comment(Comment(None, oid, "ben", "parts ordered", T0 + timedelta(hours=1)))
    first = store.add_comment(Comment(None, oid, "ana", "on site", T0.astimezone(OSLO)))
    assert store.comments(oid) == [first, later]
    assert [c.id for c in store.comments(oid)] == [first.id, later.id]
    assert_utc(store.comments(oid)[0])
    assert store.comments(oid + 1) == []
    with pytest.raises(NotFound):
        store.add_comment(Comment(None, 999_999, "ana", "lost", T0))


def full_alert(work_order_id: int | None) -> AlertRecord:
    return AlertRecord(
        id=None,
        site="riverside",
        kind="pump",
        device="pump-2",
        signature="cavitation:pressure",
        severity="major",
        started_at=T0,
        updated_at=(T0 + timedelta(minutes=3)).astimezone(OSLO),
        state=AlertState.ACKNOWLEDGED,
        score=0.8125,
        evidence=("suction pressure 0.4 bar, normally 1.2", "noise up 2.8×"),
        cleared_at=T0 + timedelta(hours=2),
        dismissed_reason="looked at it",
        work_order_id=work_order_id,
        expected=True,
    )


def test_alert_round_trips_and_updates(store: SqlStore) -> None:
    order = store.add_order(new_order())
    alert = full_alert(order.id)
    added = store.add_alert(alert)
    loaded = store.get_alert(added.id or 0)
    assert loaded == replace(alert, id=added.id)
    assert type(loaded.evidence) is tuple and type(loaded.state) is AlertState
    assert_utc(loaded)
    changed = replace(loaded, state=AlertState.CLEARED, evidence=(), score=1.5, expected=False,
                      work_order_id=None, dismissed_reason=None)  # fmt: skip
    stored = store.update_alert(changed)
    assert stored == replace(changed, version=changed.version + 1)
    assert store.get_alert(added.id or 0) == stored
    with pytest.raises(VersionConflict):  # written from the version before: someone was first
        store.update_alert(replace(changed, state=AlertState.DISMISSED))
    assert store.get_alert(added.id or 0) == stored
    with pytest.raises(NotFound):
        store.get_alert(424242)
    with pytest.raises(NotFound):
        store.update_alert(replace(changed, id=424242))
    with pytest.raises(NotFound):
        store.add_alert(full_alert(work_order_id=424242))


def test_list_alerts_and_open_alert_for(store: SqlStore) -> None:
    base = replace(full_alert(None), cleared_at=None, dismissed_reason=None, expected=False)
    stored = {
        state: store.add_alert(replace(base, state=state, started_at=T0 + timedelta(minutes=i)))
        for i, state in enumerate(AlertState)
    }
    elsewhere = store.add_alert(replace(base, site="hillside", started_at=T0 + timedelta(hours=1)))
    assert store.list_alerts()[0] == elsewhere  # newest first
    assert store.list_alerts(AlertState.DISMISSED) == [stored[AlertState.DISMISSED]]
    assert store.list_alerts(site="hillside") == [elsewhere]
    assert len(store.list_alerts(site="riverside")) == len(AlertState)
    key = (base.site, base.device, base.signature)
    assert store.open_alert_for(*key) == stored[AlertState.ACKNOWLEDGED]  # newer of the live two
    store.update_alert(replace(stored[AlertState.ACKNOWLEDGED], state=AlertState.CLEARED))
    assert store.open_alert_for(*key) == stored[AlertState.OPEN]
    store.update_alert(replace(stored[AlertState.OPEN], state=AlertState.DISMISSED))
    assert store.open_alert_for(*key) is None
    assert store.open_alert_for("riverside", "pump-9", base.signature) is None


def test_api_keys_are_found_by_hash_and_revoked_once(store: SqlStore) -> None:
    key = store.add_key(ApiKey(None, "crew tablet", Role.CREW, "ab" * 32, T0.astimezone(OSLO)))
    found = store.find_key("ab" * 32)
    assert found == key and found is not None and type(found.role) is Role
    assert_utc(found)
    assert store.find_key("cd" * 32) is None
    store.revoke_key(key.id or 0, T0 + timedelta(days=1))
    store.revoke_key(key.id or 0, T0 + timedelta(days=2))  # the first revocation stands
    assert store.find_key("ab" * 32) == replace(key, revoked_at=T0 + timedelta(days=1))
    with pytest.raises(NotFound):
        store.revoke_key(987_654, T0)


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


def test_sla_policies_round_trip_with_and_without_calendar(store: SqlStore) -> None:
    calendar = BusinessCalendar(
        weekdays=frozenset({0, 1, 2, 3, 5}),
        opens=time(7, 30),
        closes=time(16, 45),
        holidays=frozenset({date(2025, 5, 17), date(2025, 12, 25)}),
        zone=ZoneInfo("Europe/Oslo"),
    )
    office = SlaPolicy(None, "P3 office hours", Priority.P3, "pump", 240.0, 2880.5, calendar,
                       pause_on_hold=True, due_soon_fraction=0.75, escalation="notify")  # fmt: skip
    round_clock = SlaPolicy(None, "P1 24/7", Priority.P1, None, 15, 240, escalation=None)
    stored = [store.add_sla_policy(office), store.add_sla_policy(round_clock)]
    assert store.sla_policies() == stored
    loaded = store.get_sla_policy(stored[0].id or 0)
    assert loaded == replace(office, id=stored[0].id)
    assert loaded.calendar is not None and loaded.calendar.zone == ZoneInfo("Europe/Oslo")
    assert type(loaded.priority) is Priority
    changed = replace(stored[1], calendar=BusinessCalendar(), escalation="raise_priority")
    store.update_sla_policy(changed)
    assert store.get_sla_policy(changed.id or 0) == changed
    store.delete_sla_policy(stored[0].id or 0)
    assert store.sla_policies() == [changed]
    with pytest.raises(NotFound):
        store.get_sla_policy(stored[0].id or 0)


def test_sla_calendar_zone_needs_an_iana_name(store: SqlStore) -> None:
    fixed = BusinessCalendar(zone=OSLO)
    with pytest.raises(ValueError, match="IANA"):
        store.add_sla_policy(SlaPolicy(None, "fixed", Priority.P2, None, 60, 600, fixed))


def test_pm_plans_round_trip_every_trigger(store: SqlStore) -> None:
    plans = [
        PmPlan(None, "half-monthly", "riverside", "lift-1", "elevator", "routine", EveryDays(15)),
        PmPlan(None, "annual", "riverside", "lift-2", "elevator", "test", EveryDays(365, T0)),
        PmPlan(
            None,
            "doors",
            None,
            None,
            "elevator",
            "doors",
            EveryUsage("trips", 50_000.5),
            Priority.P2,
        ),
        PmPlan(
            None,
            "bearings",
            "hillside",
            "pump-1",
            "pump",
            "inspect",
            WhenForecast("vibration_mm_s", 14),
            Priority.P4,
        ),
    ]
    stored = [store.add_pm_plan(plan) for plan in plans]
    assert store.pm_plans() == stored
    assert [p.name for p in store.pm_plans("riverside")] == ["half-monthly", "annual", "doors"]
    assert store.get_pm_plan(stored[3].id or 0) == replace(plans[3], id=stored[3].id)
    assert store.get_pm_plan(stored[1].id or 0).trigger == EveryDays(365, T0)
    retimed = replace(stored[0], trigger=EveryUsage("run_hours_h", 2000), device=None)
    store.update_pm_plan(retimed)
    assert store.get_pm_plan(retimed.id or 0) == retimed


def test_pm_orders_remember_which_order_covers_which_due_date(store: SqlStore) -> None:
    plan = store.add_pm_plan(PmPlan(None, "run test", "a", None, "pump", "run", EveryDays(30)))
    order = store.add_order(new_order(title="run test"))
    due = (T0 + timedelta(days=30)).astimezone(OSLO)
    store.record_pm_order(plan.id or 0, due, order.id or 0)
    assert store.pm_orders() == {(plan.id, due): order.id}
    [(_, stored_due)] = store.pm_orders()
    assert stored_due.tzinfo is UTC
    again = store.add_order(new_order(title="duplicate"))
    with pytest.raises(Duplicate, match="already exists"):
        store.record_pm_order(plan.id or 0, due, again.id or 0)
    store.delete_pm_plan(plan.id or 0)
    assert store.pm_orders() == {} and store.get_order(order.id or 0).title == "run test"


# --- migrations ------------------------------------------------------------------------------


def test_upgrade_creates_the_schema_the_models_describe(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "new.db")
    assert current_revision(url) is None
    assert upgrade(url) == head_revision() == "0006"
    engine = make_engine(url)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    engine.dispose()


def test_upgrade_of_a_current_database_is_a_no_op(db_url: str) -> None:
    store = SqlStore(db_url)
    order = store.add_order(full_order())
    store.close()
    assert upgrade(db_url) == "0006"
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
    assert upgrade(url) == "0006"
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
    assert path.exists() and first.strip().endswith("at revision 0006")
    assert db_cmd.run(settings, args) == 0
    assert capsys.readouterr().out == first
    with contextlib.closing(sqlite3.connect(path)) as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchall() == [("0006",)]


def test_db_upgrade_command_parses_its_arguments(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    db_cmd.add_arguments(parser)
    url = sqlite_url(tmp_path / "cli.db")
    args = parser.parse_args(["upgrade", "--url", url])
    assert args.handler is db_cmd.run
    assert args.handler(Settings(database_url="sqlite:///unused.db"), args) == 0
    assert current_revision(url) == "0006"
    assert not Path("unused.db").exists()


def test_pages_without_history_and_the_orders_a_period_touches(store: SqlStore) -> None:
    at = T0 + timedelta(minutes=1)
    done = apply_action(
        apply_action(new_order(title="old"), Action.START, "c", at), Action.RESOLVE, "c", at
    )
    old = store.add_order(done)
    fresh = [store.add_order(new_order(title=f"new {n}")) for n in range(5)]
    page = store.list_orders(WorkOrderQuery(limit=2, offset=1, with_history=False))
    assert len(page) == 2 and all(o.history == () for o in page)
    assert [o.history for o in store.list_orders(WorkOrderQuery(limit=10)) if o.id == old.id] != [
        ()
    ]
    since = store.list_orders(WorkOrderQuery(touched_since=T0 + timedelta(days=1)))
    assert {o.id for o in since} == {o.id for o in fresh}  # the old one was resolved before
