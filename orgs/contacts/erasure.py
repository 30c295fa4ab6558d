"""Erasure on request: a supporter asks one org to delete them; every copy goes (GDPR art. 17).

The org's data manager records the request with the supporter's reference; the hub tells
every org that holds a copy (their tools get an ``erasure_requested`` event) and purges the
copies. The request itself is audited; it carries no personal data.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.contacts.service import reading_membership
from orgs.intake.confirmation import erase
from orgs.models import AuditEvent
from orgs.scoping import Scope
from orgs.staff.repository import add_audit

_OWN_SUPPORTER = text(
    """
    SELECT s.id FROM supporter s
    JOIN contact c ON c.supporter_id = s.id AND c.org_id = :org AND c.disabled_at IS NULL
    WHERE s.ref = :ref AND s.campaign_id = :campaign
    """
)


async def request_erasure(
    session: AsyncSession, scope: Scope, campaign: str, contact_ref: str, org: int | None = None
) -> bool:
    """Erase a supporter of the caller's org; False when not found (or not the org's)."""
    membership = await reading_membership(session, scope, campaign, org)
    if membership is None or membership.campaign.id is None:
        return False
    conn = await session.connection()
    row = (
        await conn.execute(
            _OWN_SUPPORTER,
            {"org": membership.org_id, "ref": contact_ref, "campaign": membership.campaign.id},
        )
    ).first()
    if row is None:
        return False
    told = await erase(conn, int(row[0]))
    await add_audit(
        session,
        AuditEvent(
            org_id=membership.org_id,
            actor_user_id=scope.subject.user_id,
            actor_token_id=scope.subject.token_id,
            action="supporter.erasure_requested",
            subject_type="supporter",
            subject_id=int(row[0]),
            details={"orgs_told": len(told)},
        ),
    )
    return True
