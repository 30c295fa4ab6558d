"""campaign management: dates, frozen counters, per-locale consent versions, one name for
signatures, campaign-wide counting, page thank-you mails, staff mails through the outbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVENTS_BEFORE = (
    "'action_created', 'supporter_confirmed', 'supporter_rejected', 'consent_withdrawn', "
    "'erasure_requested', 'confirmation_mail', 'thank_you_mail', 'erasure_link_mail'"
)
_EVENTS_AFTER = (
    _EVENTS_BEFORE + ", 'connector_test', 'test_mail', 'password_reset_mail', 'invitation_mail'"
)


def _normalise(texts: dict[str, Any]) -> dict[str, Any]:
    """Old shape {"current": v, "versions": {v: {optIn, leadOptIn}}} -> per-locale texts."""
    versions: dict[str, Any] = {}
    for version, value in (texts.get("versions") or {}).items():
        versions[version] = {"en": value} if isinstance(value, dict) and "optIn" in value else value
    current = texts.get("current")
    if isinstance(current, str):
        current = dict.fromkeys(versions.get(current, {"en": {}}), current)
    return {"versions": versions, "current": current or {}}


def upgrade() -> None:
    op.add_column("campaign", sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("campaign", sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "campaign",
        sa.Column("frozen_counts", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column(
        "action_page",
        sa.Column("thank_you_mail", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.alter_column("action_page", "thank_you_mail", server_default=None)
    # the hub-only key leaves the widget's config (the widget's schema refuses unknown keys)
    op.execute(
        """
        UPDATE action_page
        SET thank_you_mail = COALESCE((config->>'thankYouEmail')::boolean, false),
            config = config - 'thankYouEmail'
        WHERE config ? 'thankYouEmail'
        """
    )
    op.add_column("delivery", sa.Column("user_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_delivery_user_id_user"),
        "delivery",
        "user",
        ["user_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.drop_constraint(op.f("ck_delivery_event_valid"), "delivery", type_="check")
    op.create_check_constraint(
        op.f("ck_delivery_event_valid"), "delivery", f"event IN ({_EVENTS_AFTER})"
    )

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, consent_texts FROM campaign")).all()
    for campaign_id, texts in rows:
        bind.execute(
            sa.text("UPDATE campaign SET consent_texts = CAST(:t AS jsonb) WHERE id = :id"),
            {"t": json.dumps(_normalise(texts or {})), "id": campaign_id},
        )

    # one name for signatures; counters merged
    op.execute("UPDATE action SET action_type = 'signature' WHERE action_type = 'petition'")
    op.execute(
        """
        INSERT INTO stat_counter (action_page_id, metric, campaign_id, value)
        SELECT action_page_id, replace(metric, 'actions:petition|', 'actions:signature|'),
               campaign_id, value
        FROM stat_counter WHERE metric LIKE 'actions:petition|%'
        ON CONFLICT (action_page_id, metric)
        DO UPDATE SET value = stat_counter.value + EXCLUDED.value
        """
    )
    op.execute("DELETE FROM stat_counter WHERE metric LIKE 'actions:petition|%'")
    # campaign-wide counting: a person's first action of a type in the campaign
    op.execute(
        """
        INSERT INTO stat_counter (action_page_id, metric, campaign_id, value)
        SELECT action_page_id, 'cactions:' || action_type || '|0', campaign_id, count(*)
        FROM (
          SELECT DISTINCT ON (campaign_id, COALESCE(supporter_id::text, 'r:' || ref),
                              action_type)
                 action_page_id, campaign_id, action_type
          FROM action
          WHERE NOT testing AND flagged IS NULL
            AND (supporter_id IS NOT NULL OR ref IS NOT NULL)
          ORDER BY campaign_id, COALESCE(supporter_id::text, 'r:' || ref), action_type,
                   created_at, id
        ) AS first
        GROUP BY action_page_id, campaign_id, action_type
        """
    )


def downgrade() -> None:
    op.execute("DELETE FROM stat_counter WHERE metric LIKE 'cactions:%'")
    op.execute(
        "DELETE FROM delivery WHERE event IN "
        "('connector_test', 'test_mail', 'password_reset_mail', 'invitation_mail')"
    )
    op.drop_constraint(op.f("ck_delivery_event_valid"), "delivery", type_="check")
    op.create_check_constraint(
        op.f("ck_delivery_event_valid"), "delivery", f"event IN ({_EVENTS_BEFORE})"
    )
    op.drop_constraint(op.f("fk_delivery_user_id_user"), "delivery", type_="foreignkey")
    op.drop_column("delivery", "user_id")
    op.execute(
        "UPDATE action_page SET config = config || jsonb_build_object('thankYouEmail', true) "
        "WHERE thank_you_mail"
    )
    op.drop_column("action_page", "thank_you_mail")
    op.drop_column("campaign", "frozen_counts")
    op.drop_column("campaign", "ends_at")
    op.drop_column("campaign", "starts_at")
