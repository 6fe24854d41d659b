"""The transactional outbox of domain events (`onboarding_outbox`), part of the mapping `onboarding.models`
gathers.
"""

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Mapped

from onboarding.models_base import Base
from onboarding.tables import onboarding_outbox


class OutboxEvent(Base):
    """A domain event written in the transaction that caused it, published to EventBridge after commit.

    No foreign key to organizations, on purpose: an event records something that already happened, so
    deleting the organization must neither block (RESTRICT) nor silently drop (CASCADE) an event that
    is still waiting to be published. Details carry ids, counts and timestamps only (no PII), and sent
    rows are deleted after OUTBOX_RETENTION_DAYS.
    """

    __table__ = onboarding_outbox

    id: Mapped[str]
    event_type: Mapped[str]
    organization_id: Mapped[str]
    detail: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int]
    last_error: Mapped[str | None]
