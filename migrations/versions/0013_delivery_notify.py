"""delivery wake-up: a NOTIFY on channel ``delivery_due`` at the commit of any transaction
that makes a delivery due (new pending rows; rows become pending and due again), so the
outbox relay claims them at once instead of polling

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 06:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One notification per statement (and PostgreSQL folds the identical ones of a transaction
# into one), sent when the transaction commits; nothing when it rolls back. New rows wake the
# relay whenever pending (a later drip slot is then waited for); updated rows only when due now
# (released for a double opt-in, retried by staff, handed back by a relay or a worker), so
# the workers' own status changes do not wake it.
_FUNCTIONS = """
CREATE FUNCTION delivery_notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM new_rows WHERE status = 'pending') THEN
    PERFORM pg_notify('delivery_due', '');
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION delivery_notify_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM new_rows WHERE status = 'pending' AND next_attempt_at <= now()) THEN
    PERFORM pg_notify('delivery_due', '');
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER delivery_due_inserted AFTER INSERT ON delivery
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION delivery_notify_inserted();

CREATE TRIGGER delivery_due_updated AFTER UPDATE ON delivery
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION delivery_notify_updated();
"""


def upgrade() -> None:
    op.execute(_FUNCTIONS)


def downgrade() -> None:
    op.execute("DROP TRIGGER delivery_due_updated ON delivery")
    op.execute("DROP TRIGGER delivery_due_inserted ON delivery")
    op.execute("DROP FUNCTION delivery_notify_updated()")
    op.execute("DROP FUNCTION delivery_notify_inserted()")
