"""intake page facts: NOTIFY ``intake_page`` when a page, its campaign, its org or a
partnership changes, so each API process drops its cached copy (orgs/intake/pages.py)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 06:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, trigger function, payload of the changed row)
_TABLES = (
    ("action_page", "intake_page_changed", "'page:' || r.id"),
    ("campaign", "intake_campaign_changed", "'campaign:' || r.id"),
    ("org", "intake_org_changed", "'org:' || r.id"),
    ("partnership", "intake_partnership_changed", "'campaign:' || r.campaign_id"),
)


def upgrade() -> None:
    for table, function, payload in _TABLES:
        op.execute(
            f"""
            CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE r record;
            BEGIN
              IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
              PERFORM pg_notify('intake_page', {payload});
              IF TG_OP = 'UPDATE' AND {payload.replace("r.", "OLD.")}
                 IS DISTINCT FROM {payload.replace("r.", "NEW.")} THEN
                PERFORM pg_notify('intake_page', {payload.replace("r.", "OLD.")});
              END IF;
              RETURN NULL;
            END $$
            """
        )
        op.execute(
            f"CREATE TRIGGER {function} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )


def downgrade() -> None:
    for table, function, _ in _TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {function} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
