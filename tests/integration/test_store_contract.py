"""The Store contract: every implementation keeps the same promises, checked by one suite.

It runs against MemoryStore (the unit tests' fake), SqlStore on SQLite, and SqlStore on
PostgreSQL (a session server of its own; skipped, saying why, only where the binaries or the
driver are missing). Every method gives back exactly what went in: timezone-aware UTC
datetimes (SQLite keeps none), enum members, tuples; lists come in the same order everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from facility import DeviceForecast, ForecastRun, HealthForecast, UsageForecast
from maintenance import is_breached, orders_page
from maintenance.domain import Action, HistoryEntry, Priority, Status, WorkOrder, apply_action
from maintenance.migrate import upgrade
from maintenance.pm import EveryDays, EveryUsage, PmPlan, WhenForecast
from maintenance.sla import BusinessCalendar, SlaPolicy
from maintenance.sql import SqlStore
from maintenance.store import (
    AlertQuery,
    AlertRecord,
    AlertState,
    ApiKey,
    Comment,
    Duplicate,
    NotFound,
    Notification,
    Role,
    Store,
    VersionConflict,
    WorkOrderQuery,
)
from tests.unit.memory_store import MemoryStore

pytestmark = pytest.mark.integration

T0 = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
OSLO = timezone(timedelta(hours=1))  # a non-UTC offset going in must come out as UTC


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store of each implementation (the SQL ones freshly migrated)."""
    if request.param == "memory":
        yield MemoryStore()
        return
    opened = SqlStore(migrated_url(request, tmp_path))
    yield opened
    opened.close()


def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated database of the backend `request.param` names."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'facmon.db'}"
        upgrade(url)
        return url
    copied: str = request.getfixturevalue("migrated_postgres_url")  # of a migrated template
    return copied


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


def test_order_round_trips_every_field_exactly(store: Store) -> None:
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


def test_naive_datetimes_are_refused_and_nothing_is_stored(store: Store) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        store.add_order(new_order(opened_at=datetime(2025, 1, 1, 12, 0)))
    assert store.list_orders(WorkOrderQuery()) == []


def test_add_order_refuses_a_stored_order_and_a_missing_repeat(store: Store) -> None:
    with pytest.raises(ValueError, match="already stored"):
        store.add_order(new_order(id=7))
    with pytest.raises(NotFound, match="work order 404"):
        store.add_order(new_order(repeat_of=404))


def test_history_is_kept_in_order(store: Store) -> None:
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


def test_one_update_may_append_several_entries(store: Store) -> None:
    order = store.add_order(new_order())
    twice = apply_action(apply_action(order, Action.START, "ana", T0), Action.HOLD, "ana", T0)
    stored = store.update_order(twice, expected_version=1)
    assert stored.version == 3
    assert [e.action for e in store.get_order(stored.id or 0).history] == ["start", "hold"]


def test_update_without_a_version_bump_still_moves_the_version(store: Store) -> None:
    order = store.add_order(new_order())
    stored = store.update_order(replace(order, assignee="dan"), expected_version=1)
    assert stored.version == 2
    with pytest.raises(VersionConflict):
        store.update_order(replace(order, assignee="eve"), expected_version=1)
    assert store.get_order(order.id or 0).assignee == "dan"


def test_shorter_history_is_refused_and_changes_nothing(store: Store) -> None:
    order = store.add_order(new_order())
    started = store.update_order(apply_action(order, Action.START, "ana", T0), 1)
    rewritten = replace(started, history=(), title="rewritten", version=3)
    with pytest.raises(ValueError, match="append-only"):
        store.update_order(rewritten, expected_version=2)
    assert store.get_order(order.id or 0) == started


def test_missing_orders_are_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match="work order 12345"):
        store.get_order(12345)
    with pytest.raises(NotFound, match="work order 12345"):
        store.update_order(new_order(id=12345, version=2), expected_version=1)


def test_list_orders_filters_and_sorts_most_urgent_then_oldest(store: Store) -> None:
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


def test_open_order_for_finds_only_active_orders(store: Store) -> None:
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


def test_comments_round_trip_oldest_first(store: Store) -> None:
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


def test_alert_round_trips_and_updates(store: Store) -> None:
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


def test_list_alerts_and_open_alert_for(store: Store) -> None:
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


def test_api_keys_are_found_by_hash_and_revoked_once(store: Store) -> None:
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


def test_sla_policies_round_trip_with_and_without_calendar(store: Store) -> None:
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


def test_pm_plans_round_trip_every_trigger(store: Store) -> None:
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


def test_pm_orders_remember_which_order_covers_which_due_date(store: Store) -> None:
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


def test_pages_without_history_and_the_orders_a_period_touches(store: Store) -> None:
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


def test_find_alerts_filters_and_pages_newest_first(store: Store) -> None:
    order = store.add_order(new_order())
    base = replace(full_alert(None), state=AlertState.OPEN, cleared_at=None)
    added = [
        store.add_alert(replace(base, started_at=T0 + timedelta(minutes=n),
                                work_order_id=order.id if n % 2 else None))
        for n in range(7)
    ]  # fmt: skip
    store.add_alert(replace(base, site="hillside", started_at=T0 + timedelta(hours=1)))
    newest = added[::-1]
    riverside = AlertQuery(site="riverside")
    assert store.find_alerts(riverside) == newest
    assert store.find_alerts(replace(riverside, limit=3, offset=2)) == newest[2:5]
    assert store.find_alerts(AlertQuery(work_order_id=order.id)) == newest[1::2]
    assert store.find_alerts(AlertQuery(state=AlertState.CLEARED)) == []
    assert len(store.find_alerts(AlertQuery(limit=None))) == 8
    assert store.list_alerts(site="riverside") == newest


def test_counts_of_orders_and_alerts(store: Store) -> None:
    for priority, status in [
        (Priority.P1, Status.OPEN),
        (Priority.P1, Status.OPEN),
        (Priority.P3, Status.ON_HOLD),
        (Priority.P2, Status.CLOSED),
    ]:
        store.add_order(new_order(priority=priority, status=status))  # fmt: skip
    assert store.order_counts() == {
        (Status.OPEN, Priority.P1): 2,
        (Status.ON_HOLD, Priority.P3): 1,
        (Status.CLOSED, Priority.P2): 1,
    }
    active = frozenset({Status.OPEN, Status.ON_HOLD})
    assert store.order_counts(active) == {(Status.OPEN, Priority.P1): 2,
                                          (Status.ON_HOLD, Priority.P3): 1}  # fmt: skip
    base = replace(full_alert(None), state=AlertState.OPEN)
    for severity, state in [
        ("major", AlertState.OPEN),
        ("major", AlertState.OPEN),
        ("info", AlertState.OPEN),
        ("major", AlertState.CLEARED),
    ]:
        store.add_alert(replace(base, severity=severity, state=state))  # fmt: skip
    assert store.alert_counts() == {
        (AlertState.OPEN, "major"): 2,
        (AlertState.OPEN, "info"): 1,
        (AlertState.CLEARED, "major"): 1,
    }


def test_due_by_keeps_orders_with_a_due_time_passed_or_unknown(store: Store) -> None:
    now = T0 + timedelta(hours=2)
    later, earlier = now + timedelta(minutes=1), now - timedelta(minutes=1)
    fine = store.add_order(new_order(title="fine", response_due=later, resolve_due=later))
    late = store.add_order(new_order(title="late", response_due=earlier, resolve_due=later))
    at_now = store.add_order(new_order(title="now", response_due=later, resolve_due=now))
    unknown = store.add_order(new_order(title="no due times"))
    found = store.list_orders(WorkOrderQuery(due_by=now))
    assert {o.id for o in found} == {late.id, at_now.id, unknown.id}
    assert fine.id not in {o.id for o in found}


def test_notifications_wait_until_delivered(store: Store) -> None:
    first = store.add_notification(Notification(None, None, "P1 breached", T0.astimezone(OSLO)))
    second = store.add_notification(Notification(None, 7, "P2 breached", T0))
    assert first.id != second.id
    assert store.undelivered_notifications() == [first, second]
    assert_utc(store.undelivered_notifications()[0])
    store.record_delivery(first.id or 0, T0 + timedelta(minutes=1), error="503 from webhook")
    [tried, _] = store.undelivered_notifications()
    assert (tried.attempts, tried.last_error, tried.delivered_at) == (1, "503 from webhook", None)
    store.record_delivery(first.id or 0, T0 + timedelta(minutes=2), error=None)
    assert store.undelivered_notifications() == [second]
    assert store.undelivered_notifications(limit=0) == []
    store.discard_notification(second.id or 0)
    assert store.undelivered_notifications() == []
    with pytest.raises(NotFound):
        store.record_delivery(424242, T0, error=None)


def test_unique_names_are_duplicates(store: Store) -> None:
    store.add_key(ApiKey(None, "tablet", Role.CREW, "ef" * 32, T0))
    with pytest.raises(Duplicate):
        store.add_key(ApiKey(None, "other tablet", Role.VIEWER, "ef" * 32, T0))
    store.add_sla_policy(SlaPolicy(None, "P1 24/7", Priority.P1, None, 15, 240))
    with pytest.raises(Duplicate):
        store.add_sla_policy(SlaPolicy(None, "P1 24/7", Priority.P2, None, 30, 480))


# --- forecasts -------------------------------------------------------------------------------

DAY_MS = 86_400_000
NOW_MS = int(T0.timestamp() * 1000)


def forecast_run(computed_ms: int, *devices: str, site: str = "riverside") -> ForecastRun:
    """A refresh with a full forecast for each device named."""
    health = HealthForecast("door_close_time_s", computed_ms + 9 * DAY_MS,
                            computed_ms + 5 * DAY_MS, None, "rising 0.02 s a day")  # fmt: skip
    usage = UsageForecast("trips", 47_500.5, 480.25, 50_000.0, computed_ms + 5 * DAY_MS)
    return ForecastRun(computed_ms, tuple(
        DeviceForecast(site, "elevator", name, health, usage) for name in devices
    ))  # fmt: skip


def test_forecasts_round_trip_and_a_refresh_replaces_them_all(store: Store) -> None:
    assert store.latest_forecasts() == ForecastRun(None, ())  # analytics wrote none yet
    first = forecast_run(NOW_MS, "lift-1", "lift-2")
    bare = DeviceForecast("hillside", "pump", "pump-1")  # neither forecast known
    assert store.replace_forecasts(replace(first, devices=(*first.devices, bare)))
    found = store.latest_forecasts()
    assert found == replace(first, devices=(bare, *first.devices))  # by site, then device
    assert store.latest_forecasts("riverside") == first
    assert store.latest_forecasts("nowhere") == ForecastRun(NOW_MS, ())
    second = forecast_run(NOW_MS + 3_600_000, "lift-3")
    assert store.replace_forecasts(second)
    assert store.latest_forecasts() == second  # lift-1, lift-2 and pump-1 are gone


def test_an_older_refresh_finishing_last_changes_nothing(store: Store) -> None:
    newer = forecast_run(NOW_MS + 1000, "lift-2")
    assert store.replace_forecasts(newer)
    assert not store.replace_forecasts(forecast_run(NOW_MS, "lift-1"))
    assert store.latest_forecasts() == newer
    assert store.replace_forecasts(replace(newer, devices=()))  # the same time: it may redo
    assert store.latest_forecasts() == ForecastRun(NOW_MS + 1000, ())


def test_a_refresh_failing_midway_leaves_the_previous_forecasts_whole(store: Store) -> None:
    kept = forecast_run(NOW_MS, "lift-1", "lift-2")
    store.replace_forecasts(kept)
    broken = forecast_run(NOW_MS + 1000, "lift-3", "lift-4", "lift-3")  # lift-3 twice
    with pytest.raises(Duplicate):
        store.replace_forecasts(broken)
    assert store.latest_forecasts() == kept
    with pytest.raises(ValueError, match="computed_ms"):
        store.replace_forecasts(ForecastRun(None, kept.devices))


def test_pages_of_breached_orders_are_cut_after_judging(store: Store) -> None:
    """The store narrows to orders with a due time passed (or none stored), the SLA rules
    judge them, and only then is the page cut: whatever the chunks the store is read in."""
    now = T0 + timedelta(hours=10)
    policies = [SlaPolicy(1, "P2", Priority.P2, None, 60, 480),
                SlaPolicy(2, "P1", Priority.P1, None, 60, 480)]  # fmt: skip
    fresh = [store.add_order(new_order(priority=Priority.P1, opened_at=now, title=f"fresh {n}",
                                       response_due=now + timedelta(hours=1),
                                       resolve_due=now + timedelta(hours=8))).id
             for n in range(7)]  # fmt: skip
    late = [store.add_order(new_order(title=f"late {n}")).id for n in range(5)]  # no due stored
    uncovered = store.add_order(new_order(priority=Priority.P4)).id  # no policy: never breached
    for chunk in (2, 3, 500):

        def page(breached: bool, limit: int = 50, offset: int = 0, chunk: int = chunk) -> list[int]:
            query = WorkOrderQuery(limit=limit, offset=offset)
            found = orders_page(store, query, policies, now, breached, chunk=chunk)
            return [o.id or 0 for o in found]

        assert page(True) == late
        assert page(True, limit=2, offset=3) == late[3:5]
        assert page(False) == [*fresh, uncovered]
        assert page(False, limit=3, offset=6) == [fresh[6], uncovered]
    assert is_breached(store.get_order(late[0] or 0), policies, now)
