"""The transactional outbox of domain events (`onboarding_outbox`), part of the mapping `onboarding.models`
gathers.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from onboarding.ids import id_default
from onboarding.models_base import Base


class OutboxEvent(Base):
    """A domain event written in the transaction that caused it, published to EventBridge after commit.

    No foreign key to organizations, on purpose: an event records something that already happened, so
    deleting the organization must neither block (RESTRICT) nor silently drop (CASCADE) an event that
    is still waiting to be published. Details carry ids, counts and timestamps only (no PII), and sent
    rows are deleted after OUTBOX_RETENTION_DAYS.
    """

    __tablename__ = "onboarding_outbox"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        CheckConstraint("jsonb_typeof(detail) = 'object'", name="detail_is_object"),
        # Publishers scan only pending rows, oldest first; the index stays as small as the backlog.
        Index("idx_outbox_pending", "created_at", "id", postgresql_where=text("sent_at IS NULL")),
        # Retention clean-up of sent rows.
        Index("idx_outbox_sent_at", "sent_at", postgresql_where=text("sent_at IS NOT NULL")),
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True, server_default=id_default("outbox"))
    event_type: Mapped[str] = mapped_column(String(50))
    organization_id: Mapped[str] = mapped_column(String(50))
    detail: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(String(500))
