"""The coalition scenario from issue 3: each partner sees only its own signatories."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.crypto import Keyring
from orgs.models import utcnow
from tests import factories as f
from tests.coalition.helpers import sign
from tests.conftest import GraphQLClient

CONTACTS = """
query($campaign: String!) {
  contacts(campaign: $campaign) {
    nodes { email firstName lastName scope address { country postcode street } consents { given } }
  }
}
"""

LEAVE = """
mutation($input: LeaveCampaignInput!) {
  leaveCampaign(input: $input) { __typename }
}
"""


async def seen(gql: GraphQLClient, campaign: str, token: str) -> list[dict[str, Any]]:
    body = await gql(CONTACTS, {"campaign": campaign}, token=token)
    assert "errors" not in body, body
    contacts = body["data"]["contacts"]
    return [] if contacts is None else list(contacts["nodes"])


async def test_each_partner_sees_only_its_own_signatories(
    session: AsyncSession, gql: GraphQLClient, keyring: Keyring
) -> None:
    # given a coalition: lead L, partners A and B, a page of A's
    lead, a, b = [await f.make_org(session, name) for name in ("org-l", "org-a", "org-b")]
    campaign = await f.make_campaign(session, lead)
    await f.make_partnership(session, campaign, a)
    await f.make_partnership(session, campaign, b)
    page = await f.make_page(session, a, campaign)
    tokens = {o.name: (await f.make_token(session, o))[1] for o in (lead, a, b)}
    name = campaign.name

    # when a supporter signs on A's page with leadOptIn=false
    await sign(session, keyring, page, a, lead=lead, lead_opt_in=False, email="no@example.net")
    # then A sees them, L does not, B does not
    assert [c["email"] for c in await seen(gql, name, tokens["org-a"])] == ["no@example.net"]
    assert await seen(gql, name, tokens["org-l"]) == []
    assert await seen(gql, name, tokens["org-b"]) == []

    # when another supporter signs with leadOptIn=true, L sees them too
    await sign(session, keyring, page, a, lead=lead, lead_opt_in=True, email="yes@example.net")
    assert [c["email"] for c in await seen(gql, name, tokens["org-l"])] == ["yes@example.net"]
    assert len(await seen(gql, name, tokens["org-a"])) == 2
    assert await seen(gql, name, tokens["org-b"]) == []

    # when L is the delivery org and a third supporter signs without lead opt-in
    await sign(session, keyring, page, a, lead=lead, delivery=lead, email="d@example.net")
    # then L sees that one with the delivery fields only
    delivery = [c for c in await seen(gql, name, tokens["org-l"]) if c["scope"] == "delivery"]
    assert delivery == [
        {
            "email": None,
            "firstName": "Sam",
            "lastName": "Signer",
            "scope": "delivery",
            "address": {"country": "FR", "postcode": "75001", "street": None},
            "consents": [],
        }
    ]

    # when A leaves the coalition
    left = await gql(LEAVE, {"input": {"campaign": name, "org": "org-a"}}, token=tokens["org-a"])
    assert left["data"]["leaveCampaign"]["__typename"] == "LeaveCampaignSuccess"
    # then A still sees its signatories, B never did
    assert len(await seen(gql, name, tokens["org-a"])) == 3
    assert await seen(gql, name, tokens["org-b"]) == []

    # when A's token is revoked, it loses access immediately
    token_row, plaintext = await f.make_token(session, a, ["contacts:read"])
    assert len(await seen(gql, name, plaintext)) == 3
    token_row.revoked_at = utcnow()  # what the auth stream's revokeApiToken writes
    session.add(token_row)
    body = await gql(CONTACTS, {"campaign": name}, token=plaintext)
    assert body["data"] is None or body["data"]["contacts"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
