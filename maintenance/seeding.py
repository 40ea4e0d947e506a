"""What a new installation starts with: the default SLA policies, and for a (demo) site the
standard preventive-maintenance plans of each of its devices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from facility import DeviceRef
from maintenance.pm import PLAN_TEMPLATES, PmPlan, plans_for_devices
from maintenance.sla import DEFAULT_POLICIES, SlaPolicy


class SeedableStore(Protocol):
    """The part of the store that seeding writes to."""

    def sla_policies(self) -> list[SlaPolicy]: ...

    def add_sla_policy(self, policy: SlaPolicy) -> SlaPolicy: ...

    def pm_plans(self, site: str | None = None) -> list[PmPlan]: ...

    def add_pm_plan(self, plan: PmPlan) -> PmPlan: ...


def seed_sla_policies(store: SeedableStore) -> None:
    """The default SLA policies, unless some exist."""
    if not store.sla_policies():
        for policy in DEFAULT_POLICIES:
            store.add_sla_policy(policy)


def seed_site_plans(
    store: SeedableStore, site: str, devices: Sequence[DeviceRef], calendar_start: datetime
) -> None:
    """The standard plans for every device of a site that has no plans yet (see site_plans)."""
    if not store.pm_plans(site):
        for plan in site_plans(site, devices, calendar_start):
            store.add_pm_plan(plan)


def site_plans(site: str, devices: Sequence[DeviceRef], calendar_start: datetime) -> list[PmPlan]:
    """The standard plans (PLAN_TEMPLATES) for each device. Calendar plans start at
    `calendar_start` and are spread over their intervals, so a new site lists its routine
    visits without a dozen routine orders burying its alerts on day one."""
    return [plan for template in PLAN_TEMPLATES for plan in plans_for_devices(
        template, site, [d.device for d in devices if d.kind == template.kind],
        spread_from=calendar_start)]  # fmt: skip
