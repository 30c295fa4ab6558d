"""trust: contactRefs as per-submission capabilities, per-org contact refs, consent grants
per action, campaign name spaces (issue 10)

Existing refs keep working within the new rule: each supporter's old ref becomes a
capability for the orgs whose pages the supporter acted on (from their latest action there),
and their old referral code keeps crediting them. Each org's existing Contact keeps the old
ref as its reference (CRMs that keyed on it see no change); new Contacts get their own.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVENTS_BEFORE = (
    "'action_created', 'supporter_confirmed', 'supporter_rejected', 'consent_withdrawn', "
    "'erasure_requested', 'confirmation_mail', 'thank_you_mail'"
)
_EVENTS_AFTER = _EVENTS_BEFORE + ", 'erasure_link_mail'"


def upgrade() -> None:
    # --- contact_ref: one row per issued capability ------------------------------------------
    op.create_table(
        "contact_ref",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("ref_hash", sa.LargeBinary(), nullable=False),
        sa.Column("supporter_id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("action_page_id", sa.BigInteger(), nullable=False),
        sa.Column("action_id", sa.BigInteger(), nullable=True),
        sa.Column("referral_code", sa.String(length=32), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["action.id"],
            name=op.f("fk_contact_ref_action_id_action"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["action_page_id"],
            ["action_page.id"],
            name=op.f("fk_contact_ref_action_page_id_action_page"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_contact_ref_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org.id"], name=op.f("fk_contact_ref_org_id_org"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["supporter_id"],
            ["supporter.id"],
            name=op.f("fk_contact_ref_supporter_id_supporter"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_ref")),
        sa.UniqueConstraint("ref_hash", "org_id", name=op.f("uq_contact_ref_ref_hash_org_id")),
        sa.UniqueConstraint("referral_code", name=op.f("uq_contact_ref_referral_code")),
    )
    op.create_index(op.f("ix_contact_ref_org_id"), "contact_ref", ["org_id"], unique=False)
    op.create_index(
        op.f("ix_contact_ref_supporter_id"), "contact_ref", ["supporter_id"], unique=False
    )
    # the old per-person ref, as a capability for each org whose pages the person acted on
    op.execute(
        """
        INSERT INTO contact_ref (ref_hash, supporter_id, org_id, campaign_id, action_page_id,
                                 action_id, referral_code, created_at)
        SELECT sha256(convert_to(s.ref, 'UTF8')), s.id, latest.org_id, s.campaign_id,
               latest.action_page_id, latest.id,
               CASE WHEN latest.org_id = p.org_id THEN s.referral_code END,
               latest.created_at
        FROM supporter s
        JOIN action_page p ON p.id = s.first_action_page_id
        JOIN LATERAL (
            SELECT DISTINCT ON (a.org_id) a.org_id, a.action_page_id, a.id, a.created_at
            FROM action a WHERE a.supporter_id = s.id
            ORDER BY a.org_id, a.created_at DESC, a.id DESC
        ) latest ON true
        """
    )

    # --- contact.ref: the org's own reference for the person -----------------------------------
    op.add_column("contact", sa.Column("ref", sa.String(length=64), nullable=True))
    op.execute("UPDATE contact c SET ref = s.ref FROM supporter s WHERE s.id = c.supporter_id")
    op.alter_column("contact", "ref", nullable=False)
    op.create_unique_constraint(op.f("uq_contact_org_id_ref"), "contact", ["org_id", "ref"])

    # --- consent.action_id: which action granted the org its copy -----------------------------
    op.add_column("consent", sa.Column("action_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_consent_action_id_action"),
        "consent",
        "action",
        ["action_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_consent_action_id"), "consent", ["action_id"], unique=False)
    # consents were written in the action's own statement: same transaction, same now()
    op.execute(
        """
        UPDATE consent c SET action_id = a.id FROM action a
        WHERE a.supporter_id = c.supporter_id AND a.action_page_id = c.action_page_id
          AND a.created_at = c.created_at AND c.action_id IS NULL
        """
    )

    # --- action.referred_by_ref_id ---------------------------------------------------------------
    op.add_column("action", sa.Column("referred_by_ref_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_action_referred_by_ref_id_contact_ref"),
        "action",
        "contact_ref",
        ["referred_by_ref_id"],
        ["id"],
        ondelete="SET NULL",
    )

    # --- the supporter no longer carries a public identity -------------------------------------
    op.drop_constraint(op.f("uq_supporter_referral_code"), "supporter", type_="unique")
    op.drop_column("supporter", "referral_code")
    op.drop_constraint(op.f("uq_supporter_ref"), "supporter", type_="unique")
    op.drop_column("supporter", "ref")

    # --- campaign names: unique within the creating org's name space ---------------------------
    op.add_column("campaign", sa.Column("namespace_org_id", sa.BigInteger(), nullable=True))
    op.execute("UPDATE campaign SET namespace_org_id = org_id")
    op.alter_column("campaign", "namespace_org_id", nullable=False)
    op.create_foreign_key(
        op.f("fk_campaign_namespace_org_id_org"),
        "campaign",
        "org",
        ["namespace_org_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.drop_index(op.f("ix_campaign_name"), table_name="campaign")
    op.create_index(op.f("ix_campaign_name"), "campaign", ["name"], unique=False)
    op.create_unique_constraint(
        op.f("uq_campaign_namespace_org_id_name"), "campaign", ["namespace_org_id", "name"]
    )

    # --- the person's own erasure request mails a signed link ---------------------------------
    op.drop_constraint(op.f("ck_delivery_event_valid"), "delivery", type_="check")
    op.create_check_constraint(
        op.f("ck_delivery_event_valid"), "delivery", f"event IN ({_EVENTS_AFTER})"
    )


def downgrade() -> None:
    op.execute("DELETE FROM delivery WHERE event = 'erasure_link_mail'")
    op.drop_constraint(op.f("ck_delivery_event_valid"), "delivery", type_="check")
    op.create_check_constraint(
        op.f("ck_delivery_event_valid"), "delivery", f"event IN ({_EVENTS_BEFORE})"
    )
    op.drop_constraint(op.f("uq_campaign_namespace_org_id_name"), "campaign", type_="unique")
    op.drop_index(op.f("ix_campaign_name"), table_name="campaign")
    op.create_index(op.f("ix_campaign_name"), "campaign", ["name"], unique=True)
    op.drop_constraint(op.f("fk_campaign_namespace_org_id_org"), "campaign", type_="foreignkey")
    op.drop_column("campaign", "namespace_org_id")
    # old refs cannot be recovered from their hashes: supporters get new ones
    op.add_column("supporter", sa.Column("ref", sa.String(length=64), nullable=True))
    op.execute("UPDATE supporter SET ref = md5(random()::text || id::text)")
    op.alter_column("supporter", "ref", nullable=False)
    op.create_unique_constraint(op.f("uq_supporter_ref"), "supporter", ["ref"])
    op.add_column("supporter", sa.Column("referral_code", sa.String(length=32), nullable=True))
    op.create_unique_constraint(op.f("uq_supporter_referral_code"), "supporter", ["referral_code"])
    op.drop_constraint(
        op.f("fk_action_referred_by_ref_id_contact_ref"), "action", type_="foreignkey"
    )
    op.drop_column("action", "referred_by_ref_id")
    op.drop_index(op.f("ix_consent_action_id"), table_name="consent")
    op.drop_constraint(op.f("fk_consent_action_id_action"), "consent", type_="foreignkey")
    op.drop_column("consent", "action_id")
    op.drop_constraint(op.f("uq_contact_org_id_ref"), "contact", type_="unique")
    op.drop_column("contact", "ref")
    op.drop_index(op.f("ix_contact_ref_supporter_id"), table_name="contact_ref")
    op.drop_index(op.f("ix_contact_ref_org_id"), table_name="contact_ref")
    op.drop_table("contact_ref")
