"""The work-order queue as people page through it, with SLA judgements SQL cannot make.

Whether an order breached its SLA depends on its holds (a hold pauses the clock), which only
the rules in maintenance/sla.py judge. So a page of breached (or not breached) orders is built
here: the store narrows to the candidates, the rules judge each, and the offset and limit
apply to what they kept, so no page comes back short while matching orders exist further on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from itertools import islice

from maintenance.domain import WorkOrder
from maintenance.sla import SlaPolicy, SlaState, choose_policy, sla_status
from maintenance.store import OrderStore, WorkOrderQuery

__all__ = ["is_breached", "orders_page"]

CHUNK = 500  # orders judged per store read


def is_breached(order: WorkOrder, policies: Sequence[SlaPolicy], now: datetime) -> bool:
    """Whether `order` missed its response or resolution target by `now` (pauses on hold
    counted); an order no policy covers is never breached."""
    policy = choose_policy(policies, order.priority, order.kind)
    if policy is None:
        return False
    report = sla_status(order, policy, now)
    return SlaState.BREACHED in (report.response.state, report.resolution.state)


def orders_page(
    store: OrderStore,
    query: WorkOrderQuery,
    policies: Sequence[SlaPolicy],
    now: datetime,
    breached: bool | None = None,
    chunk: int = CHUNK,
) -> list[WorkOrder]:
    """The page `query` asks for (queue order), of breached orders only, of not breached ones
    only, or of all (`breached` None: the store pages by itself). Candidates are read `chunk`
    at a time."""
    if breached is None:
        return store.list_orders(query)
    kept = (o for o in _candidates(store, query, now, breached, chunk)
            if is_breached(o, policies, now) == breached)  # fmt: skip
    return list(islice(kept, query.offset, query.offset + query.limit))


def _candidates(
    store: OrderStore, query: WorkOrderQuery, now: datetime, breached: bool, chunk: int
) -> Iterator[WorkOrder]:
    """The orders that may match, in queue order, read a chunk at a time. Holds only move
    due times later, so a breached order has a due time at or before now (or none stored)."""
    narrowed = replace(
        query, with_history=True, limit=chunk, due_by=now if breached else query.due_by
    )
    start = 0
    while True:
        found = store.list_orders(replace(narrowed, offset=start))
        yield from found
        if len(found) < chunk:
            return
        start += chunk
