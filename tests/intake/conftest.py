"""A coalition to sign in: lead L with a page, partner A with a page, outsider-free."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import ActionPage, Campaign, Org
from tests import factories as f
from tests.conftest import GraphQLClient

SIGN = """
mutation Sign($page: Int!, $action: ActionInput!, $contact: ContactInput!,
              $privacy: ConsentInput!, $tracking: TrackingInput, $contactRef: ID) {
  addActionContact(actionPageId: $page, action: $action, contact: $contact,
                   privacy: $privacy, tracking: $tracking, contactRef: $contactRef) {
    contactRef firstName referralCode
  }
}
"""

FOLLOW_UP = """
mutation FollowUp($page: Int!, $action: ActionInput!, $ref: ID!, $tracking: TrackingInput) {
  addAction(actionPageId: $page, action: $action, contactRef: $ref, tracking: $tracking) {
    contactRef
  }
}
"""

STATS = """
query($id: Int) {
  actionPage(id: $id) {
    stats { supporterCount actionCount { actionType count } }
    campaign { stats { supporterCount actionCount { actionType count }
                       supporterCountries { country count } } }
  }
}
"""


@dataclass
class Coalition:
    lead: Org
    partner: Org
    campaign: Campaign
    lead_page: ActionPage
    partner_page: ActionPage


@pytest.fixture
async def coalition(session: AsyncSession) -> Coalition:
    lead = await f.make_org(session)
    partner = await f.make_org(session)
    campaign = await f.make_campaign(session, lead)
    await f.make_partnership(session, campaign, partner)
    lead_page = await f.make_page(session, lead, campaign)
    partner_page = await f.make_page(session, partner, campaign)
    await session.flush()
    return Coalition(lead, partner, campaign, lead_page, partner_page)


def signature(page: ActionPage, email: str = "ada@example.net", **overrides: Any) -> dict[str, Any]:
    """The variables a widget sends for a petition signature."""
    variables: dict[str, Any] = {
        "page": page.id,
        "action": {"actionType": "petition"},
        "contact": {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "email": email,
            "address": {"country": "FR", "postcode": "75001"},
        },
        "privacy": {"optIn": True, "leadOptIn": False},
    }
    variables.update(overrides)
    return variables


async def sign(gql: GraphQLClient, page: ActionPage, **kw: Any) -> dict[str, Any]:
    body = await gql(SIGN, signature(page, **kw.pop("email_kw", {}), **kw))
    return body


async def counts(session: AsyncSession) -> dict[str, int]:
    """Rows per table the intake writes (to prove that a rejection wrote nothing)."""
    tables = (
        "supporter",
        "contact",
        "consent",
        "action",
        "stat_counter",
        "delivery",
        "contact_ref",
    )
    out = {}
    for table in tables:
        out[table] = int(
            (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
        )
    return out
