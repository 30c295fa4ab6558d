"""A mail-to-target campaign: a lead with a page, a coordinator, a partner, three targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import ActionPage, Campaign, Org, PartnerRole, Target
from tests import factories as f
from tests.targets.harness import drip, inbox

__all__ = ["drip", "inbox"]  # fixtures of tests/targets/harness.py

# The document Proca's widget sends for its Email step (the same operation, variables and
# selection; see fixthestatusquo/proca src/lib/server.js), with actionType "mail2target".
PROCA_SIGN = """
mutation addActionContact(
  $action: ActionInput!,
  $contact: ContactInput!,
  $privacy: ConsentInput!,
  $contactRef: ID,
  $actionPage: Int!,
  $tracking: TrackingInput
) {
  addActionContact(
    actionPageId: $actionPage,
    action: $action,
    contactRef: $contactRef,
    contact: $contact,
    privacy: $privacy,
    tracking: $tracking
  ) { contactRef, firstName }
}
"""

SIGN_MAILTO = """
mutation($page: Int!, $action: ActionInput!, $contact: ContactInput!, $privacy: ConsentInput!) {
  addActionContact(actionPageId: $page, action: $action, contact: $contact, privacy: $privacy) {
    contactRef mailto
  }
}
"""


@dataclass
class Mtt:
    lead: Org
    coordinator: Org
    partner: Org
    campaign: Campaign
    page: ActionPage
    partner_page: ActionPage
    targets: list[Target]


@pytest.fixture
async def mtt(session: AsyncSession) -> Mtt:
    lead = await f.make_org(session)
    coordinator = await f.make_org(session)
    partner = await f.make_org(session)
    campaign = await f.make_campaign(session, lead)
    await f.make_partnership(session, campaign, coordinator, role=PartnerRole.COORDINATOR)
    await f.make_partnership(session, campaign, partner)
    page = await f.make_page(session, lead, campaign, config={"actionType": "mail2target"})
    partner_page = await f.make_page(session, partner, campaign)
    targets = [
        await f.make_target(
            session, campaign, "mayor", name="Mayor Ann", area="Riverside", postcodes=["750"]
        ),
        await f.make_target(
            session, campaign, "minister", name="Minister Bob", area="Capital", postcodes=["1"]
        ),
        await f.make_target(
            session, campaign, "board", name="Water Board", area="Riverside", postcodes=["751"]
        ),
    ]
    await f.make_mail_to_target(session, campaign)
    await session.flush()
    return Mtt(lead, coordinator, partner, campaign, page, partner_page, targets)


def proca_variables(page: ActionPage, email: str, **action: Any) -> dict[str, Any]:
    """What Proca's widget sends: customFields as a JSON string, empty address strings."""
    return {
        "actionPage": page.id,
        "action": {
            "actionType": "mail2target",
            "customFields": "{}",
            "mtt": {
                "subject": "Save the river",
                "body": "Dear {target},\n\nPlease save the river.\n",
                "targets": ["mayor", "board"],
            },
            **action,
        },
        "contact": {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "email": email,
            "address": {"country": "", "postcode": ""},
        },
        "privacy": {"optIn": True, "leadOptIn": False},
    }


async def rows(session: AsyncSession, sql: str, **params: Any) -> list[dict[str, Any]]:
    result = await session.execute(text(sql), params)
    return [dict(r) for r in result.mappings()]


async def messages(session: AsyncSession) -> list[dict[str, Any]]:
    """Every message with its target and outbox status, in order."""
    return await rows(
        session,
        """
        SELECT t.external_id AS target, m.kind, m.hold, m.testing, d.status,
               d.next_attempt_at, d.event
        FROM target_message m JOIN target t ON t.id = m.target_id
        LEFT JOIN delivery d ON d.id = m.delivery_id
        ORDER BY m.id
        """,
    )
