"""The KPI report of a period gathered from a store (maintenance/kpi_report.py)."""

from __future__ import annotations

from dataclasses import replace

from maintenance.domain import Priority, Status
from maintenance.kpi_report import kpi_report, trend_point
from maintenance.kpis import compute_kpis, compute_kpis_by
from maintenance.pm import EveryDays, PmPlan
from maintenance.store import AlertRecord, AlertState
from tests.unit.memory_store import MemoryStore
from tests.unit.test_kpis import END, PM_IDS, START, t, week, wo

EVERY_MONTH = EveryDays(30)


def store_with_the_week() -> MemoryStore:
    store = MemoryStore()
    # The store numbers orders itself: added in id order, they keep the ids PM_IDS name.
    for order in sorted(week(), key=lambda o: o.id or 0):
        assert store.add_order(replace(order, id=None)).id == order.id
    store.add_order(
        replace(wo(10, Priority.P1, Status.OPEN, END, site="s3"), id=None)
    )  # opened as it ends
    for order_id in sorted(PM_IDS):
        plan = store.add_pm_plan(
            PmPlan(None, f"plan {order_id}", "s1", None, "pump", "", EVERY_MONTH)
        )
        assert plan.id is not None
        store.record_pm_order(plan.id, t(3, 1), order_id)
    said = [(AlertState.ACKNOWLEDGED, t(3, 1, 10)), (AlertState.DISMISSED, t(3, 3)),
            (AlertState.OPEN, t(3, 4))]  # fmt: skip
    for state, at in said:
        alert = AlertRecord(None, "s1", "pump", "p1", "x:high", "major", at, at)
        store.add_alert(replace(alert, state=state))
    return store


def test_the_report_is_the_kpis_of_the_orders_opened_before_its_end() -> None:
    report = kpi_report(store_with_the_week(), START, END)
    outcomes = [(t(3, 1, 10), "confirmed"), (t(3, 3), "dismissed")]
    expected = compute_kpis(week(), START, END, outcomes, PM_IDS)
    assert (report["from"], report["to"]) == (START.isoformat(), END.isoformat())
    assert report["overall"] == expected.as_dict()
    assert (report["overall"]["alerts_confirmed"], report["overall"]["alerts_dismissed"]) == (1, 1)
    by_site = compute_kpis_by(week(), lambda o: o.site or "-", START, END, PM_IDS)
    assert report["by_site"] == {site: kpis.as_dict() for site, kpis in by_site.items()}
    assert "s3" not in report["by_site"] and set(report["by_kind"]) >= {"elevator", "pump", "-"}


def test_a_trend_point_leaves_out_the_mtbf_maps() -> None:
    point = trend_point(kpi_report(store_with_the_week(), START, END))
    assert point["from"] == START.isoformat() and point["orders_opened"] == 7
    assert not any(name.startswith("mtbf_hours_by") for name in point)
