"""intake: idempotency keys on actions, referral codes on supporters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("supporter", sa.Column("referral_code", sa.String(length=32), nullable=True))
    op.create_unique_constraint(op.f("uq_supporter_referral_code"), "supporter", ["referral_code"])
    op.add_column("action", sa.Column("idempotency_key", sa.String(length=128), nullable=True))
    op.create_index(
        "uq_action_action_page_id_idempotency_key",
        "action",
        ["action_page_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_action_action_page_id_idempotency_key",
        table_name="action",
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.drop_column("action", "idempotency_key")
    op.drop_constraint(op.f("uq_supporter_referral_code"), "supporter", type_="unique")
    op.drop_column("supporter", "referral_code")
