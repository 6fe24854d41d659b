"""SignUpFlow's own tables that onboarding reads and writes (organizations, people, teams, events and
assignments); the baseline migration creates minimal versions where missing (`BASELINE_TABLE_COMMENT`).
Part of the mapping `onboarding.models` gathers.
"""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, false, func
from sqlalchemy.orm import Mapped, mapped_column

from onboarding.models_base import BASELINE_TABLE_COMMENT, Base


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = {"comment": BASELINE_TABLE_COMMENT}

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (
        Index(None, "org_id", "is_sample"),
        {"comment": BASELINE_TABLE_COMMENT},
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(50), ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    # Free text in SignUpFlow (the seed matches it with LIKE '%volunteer%'); counters cast it to text,
    # so a JSON array column in the host schema works the same.
    roles: Mapped[str | None] = mapped_column(Text)
    is_sample: Mapped[bool] = mapped_column(Boolean, server_default=false())


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (
        Index(None, "org_id", "is_sample"),
        {"comment": BASELINE_TABLE_COMMENT},
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(50), ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    is_sample: Mapped[bool] = mapped_column(Boolean, server_default=false())


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index(None, "org_id", "is_sample"),
        {"comment": BASELINE_TABLE_COMMENT},
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(50), ForeignKey("organizations.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    start_time: Mapped[datetime]
    end_time: Mapped[datetime]
    is_sample: Mapped[bool] = mapped_column(Boolean, server_default=false())


class EventAssignment(Base):
    __tablename__ = "event_assignments"
    __table_args__ = (
        Index(None, "event_id"),
        Index(None, "person_id"),
        {"comment": BASELINE_TABLE_COMMENT},
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(50), ForeignKey("events.id", ondelete="CASCADE"))
    person_id: Mapped[str] = mapped_column(String(50), ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[str | None] = mapped_column(String(100))


HOST_TABLES = ("organizations", "people", "teams", "events", "event_assignments")
