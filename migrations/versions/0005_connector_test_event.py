"""delivery: the connector_test event (testConnector goes through the outbox)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = (
    "action_created",
    "supporter_confirmed",
    "supporter_rejected",
    "consent_withdrawn",
    "erasure_requested",
    "confirmation_mail",
    "thank_you_mail",
)
_AFTER = (*_BEFORE, "connector_test")


def _event_check(events: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_delivery_event_valid"), "delivery", type_="check")
    values = ", ".join(f"'{event}'" for event in events)
    op.create_check_constraint(op.f("ck_delivery_event_valid"), "delivery", f"event IN ({values})")


def upgrade() -> None:
    _event_check(_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM delivery WHERE event = 'connector_test'")
    _event_check(_BEFORE)
