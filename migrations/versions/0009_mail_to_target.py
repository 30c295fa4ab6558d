"""mail to target: targets and their addresses, a campaign's sending settings, messages
(each sent through its outbox row, event ``target_mail``; ``held`` for moderation and pause)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVENTS_BEFORE = (
    "'action_created', 'supporter_confirmed', 'supporter_rejected', 'consent_withdrawn', "
    "'erasure_requested', 'confirmation_mail', 'thank_you_mail', 'erasure_link_mail', "
    "'connector_test', 'test_mail', 'password_reset_mail', 'invitation_mail'"
)
_EVENTS_AFTER = _EVENTS_BEFORE + ", 'target_mail'"
_STATUSES_BEFORE = "'waiting', 'pending', 'queued', 'delivered', 'failed', 'cancelled'"
_STATUSES_AFTER = "'waiting', 'held', 'pending', 'queued', 'delivered', 'failed', 'cancelled'"


def upgrade() -> None:
    op.create_table(
        "mail_to_target",
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("daily_start", sa.Integer(), nullable=False),
        sa.Column("daily_end", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("hourly_cap", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("editable", sa.Boolean(), nullable=False),
        sa.Column("ask_reply_to", sa.Boolean(), nullable=False),
        sa.Column("selection", sa.String(length=16), nullable=False),
        sa.Column("moderation", sa.String(length=16), nullable=False),
        sa.Column(
            "blocked_words",
            postgresql.ARRAY(sa.String(length=100)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column(
            "templates",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "mode IN ('server', 'mailto', 'both')", name=op.f("ck_mail_to_target_mode_valid")
        ),
        sa.CheckConstraint(
            "moderation IN ('none', 'all', 'words')",
            name=op.f("ck_mail_to_target_moderation_valid"),
        ),
        sa.CheckConstraint(
            "selection IN ('choose', 'postcode', 'all')",
            name=op.f("ck_mail_to_target_selection_valid"),
        ),
        sa.CheckConstraint(
            "daily_start >= 0 AND daily_end <= 1440 AND daily_start < daily_end",
            name=op.f("ck_mail_to_target_daily_hours"),
        ),
        sa.CheckConstraint(
            "hourly_cap BETWEEN 1 AND 3600", name=op.f("ck_mail_to_target_hourly_cap_range")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_mail_to_target_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_mail_to_target")),
    )
    op.create_table(
        "target",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("area", sa.String(length=100), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column(
            "fields",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "postcodes",
            postgresql.ARRAY(sa.String(length=16)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_slot_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_target_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target")),
        sa.UniqueConstraint(
            "campaign_id", "external_id", name=op.f("uq_target_campaign_id_external_id")
        ),
    )
    op.create_table(
        "target_email",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("soft_bounces", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("bounced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('active', 'bounced', 'disabled')", name=op.f("ck_target_email_status_valid")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["target.id"],
            name=op.f("fk_target_email_target_id_target"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_email")),
    )
    op.create_index(
        "uq_target_email_target_id_email",
        "target_email",
        ["target_id", sa.literal_column("lower(email)")],
        unique=True,
    )
    op.create_table(
        "target_message",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("supporter_id", sa.BigInteger(), nullable=False),
        sa.Column("action_id", sa.BigInteger(), nullable=True),
        sa.Column("delivery_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("hold", sa.String(length=16), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("message_token", sa.String(length=40), nullable=True),
        sa.Column("testing", sa.Boolean(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "hold IN ('moderation', 'paused')", name=op.f("ck_target_message_hold_valid")
        ),
        sa.CheckConstraint(
            "kind IN ('send', 'click', 'test')", name=op.f("ck_target_message_kind_valid")
        ),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["action.id"],
            name=op.f("fk_target_message_action_id_action"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_target_message_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["delivery.id"],
            name=op.f("fk_target_message_delivery_id_delivery"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org.id"], name=op.f("fk_target_message_org_id_org"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["supporter_id"],
            ["supporter.id"],
            name=op.f("fk_target_message_supporter_id_supporter"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["target.id"],
            name=op.f("fk_target_message_target_id_target"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_message")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_target_message_delivery_id")),
    )
    op.create_index(
        "ix_target_message_campaign_id_target_id",
        "target_message",
        ["campaign_id", "target_id"],
        unique=False,
    )
    op.create_index(op.f("ix_target_message_org_id"), "target_message", ["org_id"], unique=False)
    op.create_index(
        op.f("ix_target_message_supporter_id"), "target_message", ["supporter_id"], unique=False
    )
    op.create_index(
        "ix_target_message_target_id_sent_at",
        "target_message",
        ["target_id", "sent_at"],
        unique=False,
    )
    op.create_index(
        "uq_target_message_target_id_supporter_id_kind",
        "target_message",
        ["target_id", "supporter_id", "kind"],
        unique=True,
        postgresql_where=sa.text("kind <> 'test'"),
    )
    op.drop_constraint(op.f("ck_delivery_event_valid"), "delivery", type_="check")
    op.create_check_constraint(
        op.f("ck_delivery_event_valid"), "delivery", f"event IN ({_EVENTS_AFTER})"
    )
    op.drop_constraint(op.f("ck_delivery_status_valid"), "delivery", type_="check")
    op.create_check_constraint(
        op.f("ck_delivery_status_valid"), "delivery", f"status IN ({_STATUSES_AFTER})"
    )


def downgrade() -> None:
    op.drop_index(
        "uq_target_message_target_id_supporter_id_kind",
        table_name="target_message",
        postgresql_where=sa.text("kind <> 'test'"),
    )
    op.drop_index("ix_target_message_target_id_sent_at", table_name="target_message")
    op.drop_index(op.f("ix_target_message_supporter_id"), table_name="target_message")
    op.drop_index(op.f("ix_target_message_org_id"), table_name="target_message")
    op.drop_index("ix_target_message_campaign_id_target_id", table_name="target_message")
    op.drop_table("target_message")
    op.drop_index("uq_target_email_target_id_email", table_name="target_email")
    op.drop_table("target_email")
    op.drop_table("target")
    op.drop_table("mail_to_target")
    op.execute("DELETE FROM delivery WHERE event = 'target_mail'")
    op.drop_constraint(op.f("ck_delivery_status_valid"), "delivery", type_="check")
    op.create_check_constraint(
        op.f("ck_delivery_status_valid"), "delivery", f"status IN ({_STATUSES_BEFORE})"
    )
    op.drop_constraint(op.f("ck_delivery_event_valid"), "delivery", type_="check")
    op.create_check_constraint(
        op.f("ck_delivery_event_valid"), "delivery", f"event IN ({_EVENTS_BEFORE})"
    )
