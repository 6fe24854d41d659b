"""ORM classes over SignUpFlow's own tables (`host_tables`), for the tests and tools that add host rows
as objects; gathered by `onboarding.models`. The service itself uses the Core tables.
"""

from datetime import datetime

from sqlalchemy.orm import Mapped

from onboarding.host_tables import HOST_TABLES, event_assignments, events, organizations, people, teams
from onboarding.models_base import Base

__all__ = ["HOST_TABLES", "Event", "EventAssignment", "Organization", "Person", "Team"]


class Organization(Base):
    __table__ = organizations

    id: Mapped[str]
    name: Mapped[str]
    created_at: Mapped[datetime]


class Person(Base):
    __table__ = people

    id: Mapped[str]
    org_id: Mapped[str]
    name: Mapped[str]
    email: Mapped[str | None]
    roles: Mapped[str | None]
    is_sample: Mapped[bool]


class Team(Base):
    __table__ = teams

    id: Mapped[str]
    org_id: Mapped[str]
    name: Mapped[str]
    is_sample: Mapped[bool]


class Event(Base):
    __table__ = events

    id: Mapped[str]
    org_id: Mapped[str]
    title: Mapped[str]
    start_time: Mapped[datetime]
    end_time: Mapped[datetime]
    is_sample: Mapped[bool]


class EventAssignment(Base):
    __table__ = event_assignments

    id: Mapped[str]
    event_id: Mapped[str]
    person_id: Mapped[str]
    role: Mapped[str | None]
