"""dashboard aggregates: facts fixed on each action, the roll-up table, DOI counters backfilled

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("action", sa.Column("country", sa.String(length=2), nullable=True))
    op.add_column(
        "action",
        sa.Column("new_supporter", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "action",
        sa.Column("referral_generation", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    # what existing actions can tell: the supporter's country, the first counted action
    op.execute(
        """
        UPDATE action a SET country = s.country FROM supporter s
        WHERE s.id = a.supporter_id AND a.action_type <> 'share'
        """
    )
    op.execute(
        """
        UPDATE action a SET new_supporter = true FROM (
          SELECT DISTINCT ON (supporter_id) id FROM action
          WHERE supporter_id IS NOT NULL AND NOT testing AND flagged IS NULL
          ORDER BY supporter_id, created_at, id
        ) first WHERE a.id = first.id
        """
    )
    op.execute(
        "UPDATE action SET referral_generation = 1 WHERE referred_by_supporter_id IS NOT NULL"
    )
    op.create_table(
        "stat_queue",
        sa.Column("action_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["action.id"],
            name=op.f("fk_stat_queue_action_id_action"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("action_id", name=op.f("pk_stat_queue")),
    )
    op.create_index("ix_stat_queue_campaign_id", "stat_queue", ["campaign_id", "action_id"])
    # a queue: filled and drained all day, so vacuumed and analysed by row count, not by share
    op.execute(
        "ALTER TABLE stat_queue SET (autovacuum_vacuum_scale_factor = 0, "
        "autovacuum_vacuum_threshold = 10000, autovacuum_analyze_scale_factor = 0, "
        "autovacuum_analyze_threshold = 10000)"
    )
    # every action so far waits for the workers' first roll-up
    op.execute("INSERT INTO stat_queue (action_id, campaign_id) SELECT id, campaign_id FROM action")
    op.create_table(
        "stat_rollup",
        sa.Column("action_page_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_page_id"],
            ["action_page.id"],
            name=op.f("fk_stat_rollup_action_page_id_action_page"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_stat_rollup_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org.id"], name=op.f("fk_stat_rollup_org_id_org"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "action_page_id", "day", "dimension", "key", name=op.f("pk_stat_rollup")
        ),
    )
    op.create_index(
        "ix_stat_rollup_campaign_id_dimension_day",
        "stat_rollup",
        ["campaign_id", "dimension", "day"],
        unique=False,
    )
    op.create_index(op.f("ix_stat_rollup_org_id"), "stat_rollup", ["org_id"], unique=False)
    op.create_index(
        "ix_delivery_delivered",
        "delivery",
        ["connector_id", "delivered_at"],
        unique=False,
        postgresql_where=sa.text("status = 'delivered'"),
    )
    # double opt-in counters of the supporters already asked, on the page that asked
    op.execute(
        """
        INSERT INTO stat_counter (action_page_id, metric, campaign_id, value)
        SELECT asked.action_page_id, m.metric, s.campaign_id, count(*)
        FROM supporter s
        JOIN LATERAL (SELECT action_page_id FROM consent
                      WHERE supporter_id = s.id AND method = 'double'
                      ORDER BY id LIMIT 1) asked ON true
        CROSS JOIN LATERAL (VALUES
            ('doi:asked|0', s.confirmation IN ('confirming', 'confirmed', 'rejected')),
            ('doi:confirmed|0', s.confirmation = 'confirmed')) AS m(metric, wanted)
        WHERE m.wanted
        GROUP BY asked.action_page_id, m.metric, s.campaign_id
        ON CONFLICT (action_page_id, metric)
        DO UPDATE SET value = stat_counter.value + EXCLUDED.value
        """
    )


def downgrade() -> None:
    op.drop_index(
        "ix_delivery_delivered",
        table_name="delivery",
        postgresql_where=sa.text("status = 'delivered'"),
    )
    op.execute("DELETE FROM stat_counter WHERE metric LIKE 'doi:%'")
    op.drop_index(op.f("ix_stat_rollup_org_id"), table_name="stat_rollup")
    op.drop_index("ix_stat_rollup_campaign_id_dimension_day", table_name="stat_rollup")
    op.drop_table("stat_rollup")
    op.drop_table("stat_queue")
    for column in ("referral_generation", "new_supporter", "country"):
        op.drop_column("action", column)
