"""SqlStore: every record-kind store over one migrated database."""

from __future__ import annotations

from maintenance.sql.alerts import SqlAlerts
from maintenance.sql.devices import SqlDevices
from maintenance.sql.forecasts import SqlForecasts
from maintenance.sql.keys import SqlKeys
from maintenance.sql.notifications import SqlNotifications
from maintenance.sql.orders import SqlOrders
from maintenance.sql.plans import SqlPmPlans
from maintenance.sql.policies import SqlSlaPolicies

__all__ = ["SqlStore"]


class SqlStore(
    SqlOrders,
    SqlAlerts,
    SqlKeys,
    SqlSlaPolicies,
    SqlPmPlans,
    SqlNotifications,
    SqlForecasts,
    SqlDevices,
):
    """The Store protocol on a migrated SQL database, plus devices, crews and technicians.

    Each record kind has its own class (SqlOrders, SqlAlerts, ...) on the same sessions; a
    SqlStore is all of them over one engine. Each method is one transaction; values returned
    are detached copies.
    """
