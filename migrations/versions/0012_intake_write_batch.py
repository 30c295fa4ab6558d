"""intake group commit: ``intake_write_batch(jsonb)`` writes many submissions in one
transaction, each in its own subtransaction (orgs/intake/group.py)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One row's failure (a constraint, a deadlock, anything) rolls back that row's subtransaction
# only: its SQLSTATE (and constraint name, never a value) is its answer, the others commit.
# Counter increments of the rows written are summed and applied once, in (page, metric)
# order, after every row (intake_count): batches never wait for each other in two orders on
# hot counter rows. Callers sort rows by (campaign, fingerprint) so that concurrent batches
# take supporter locks in one order too.
_BATCH = r"""
CREATE FUNCTION intake_write_batch(ps jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  p jsonb;
  r jsonb;
  answers jsonb := '[]';
  counters jsonb := '[]';
  v_state text;
  v_constraint text;
BEGIN
  FOR p IN SELECT e.value FROM jsonb_array_elements(ps) WITH ORDINALITY AS e(value, i)
           ORDER BY e.i
  LOOP
    BEGIN
      r := intake_write_row(p);
      counters := counters || COALESCE(r->'counters', '[]');
      answers := answers || jsonb_build_array(r - 'counters');
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_constraint = CONSTRAINT_NAME;
      answers := answers || jsonb_build_array(jsonb_build_object(
        'error', v_state, 'constraint', NULLIF(v_constraint, '')));
    END;
  END LOOP;
  PERFORM intake_count(counters);
  RETURN answers;
END
$fn$
"""


def upgrade() -> None:
    op.get_bind().exec_driver_sql(_BATCH)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS intake_write_batch(jsonb)")
