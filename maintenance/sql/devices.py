"""Devices, crews and technicians: what the maintenance desk knows of the sites."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from maintenance.sql.base import Sessions, columns_of, inserted, values_of
from maintenance.sql.schema import CrewRow, DeviceRow, SiteRow, TechnicianRow
from maintenance.store import NotFound

__all__ = ["Crew", "DeviceInfo", "SqlDevices", "Technician"]


@dataclass(frozen=True)
class DeviceInfo:
    """A device as the maintenance desk knows it: where it is and how much depends on it.

    `criticality` runs from 1 (life safety: fire panel, passenger lift) to 5 (cosmetic), so it
    sorts the same way as Priority.
    """

    id: int | None
    site: str
    kind: str
    name: str
    building: str | None = None
    floor: str | None = None
    zone: str | None = None
    model: str | None = None
    install_date: date | None = None
    criticality: int = 3


@dataclass(frozen=True)
class Crew:
    id: int | None
    name: str
    site: str | None = None  # None: works every site


@dataclass(frozen=True)
class Technician:
    id: int | None
    name: str
    crew: str | None = None  # the crew's name
    contact: str = ""


class SqlDevices(Sessions):
    """Devices, crews and technicians."""

    def upsert_device(self, device: DeviceInfo) -> DeviceInfo:
        """Insert or update the device named (site, kind, name); its site is created if new."""
        with self._write() as session:
            if session.get(SiteRow, device.site) is None:
                session.add(SiteRow(name=device.site, title=device.site))
            row = session.scalars(
                select(DeviceRow).where(DeviceRow.site == device.site)
                .where(DeviceRow.kind == device.kind, DeviceRow.name == device.name)
            ).first()  # fmt: skip
            if row is None:
                row = DeviceRow()
                session.add(row)
            for name, value in values_of(device).items():
                setattr(row, name, value)
            session.flush()
            return replace(device, id=row.id)

    def devices(self, site: str | None = None) -> list[DeviceInfo]:
        """Known devices, by site, kind and name."""
        statement = select(DeviceRow)
        if site is not None:
            statement = statement.where(DeviceRow.site == site)
        order_by = (DeviceRow.site, DeviceRow.kind, DeviceRow.name)
        with self._read() as session:
            rows = session.scalars(statement.order_by(*order_by))
            return [DeviceInfo(**columns_of(row, DeviceInfo)) for row in rows]

    def sites(self) -> list[str]:
        with self._read() as session:
            return list(session.scalars(select(SiteRow.name).order_by(SiteRow.name)))

    def add_crew(self, crew: Crew) -> Crew:
        with self._write() as session:
            return replace(crew, id=inserted(session, CrewRow(name=crew.name, site=crew.site)).id)

    def crews(self) -> list[Crew]:
        with self._read() as session:
            rows = session.scalars(select(CrewRow).order_by(CrewRow.name))
            return [Crew(row.id, row.name, row.site) for row in rows]

    def add_technician(self, technician: Technician) -> Technician:
        """Add a technician; NotFound if the named crew does not exist."""
        with self._write() as session:
            row = TechnicianRow(name=technician.name, contact=technician.contact)
            row.crew_id = None if technician.crew is None else _crew_id(session, technician.crew)
            return replace(technician, id=inserted(session, row).id)

    def technicians(self, crew: str | None = None) -> list[Technician]:
        statement = select(TechnicianRow).order_by(TechnicianRow.name)
        if crew is not None:
            statement = statement.join(CrewRow).where(CrewRow.name == crew)
        with self._read() as session:
            rows = session.scalars(statement).unique()
            return [_technician(row) for row in rows]


def _technician(row: TechnicianRow) -> Technician:
    return Technician(row.id, row.name, None if row.crew is None else row.crew.name, row.contact)


def _crew_id(session: Session, name: str) -> int:
    crew_id = session.scalar(select(CrewRow.id).where(CrewRow.name == name))
    if crew_id is None:
        raise NotFound(f"no crew named {name!r}")
    return crew_id
