"""contacts(): the caller org's own Contact rows only, paginated, filtered, no N+1."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.crypto import Keyring
from tests import factories as f
from tests.coalition.conftest import QueryCounter
from tests.coalition.helpers import sign
from tests.conftest import GraphQLClient

CONTACTS = """
query($campaign: String!, $filter: ContactFilter, $first: Int, $after: String) {
  contacts(campaign: $campaign, filter: $filter, first: $first, after: $after) {
    nodes {
      ref scope firstName lastName email phone
      address { country postcode locality street }
      consents { purpose given }
      actions { actionType page tracking { source medium campaign } }
    }
    pageInfo { endCursor hasNextPage }
  }
}
"""


async def emails(gql: GraphQLClient, campaign: str, token: str, **kw: Any) -> list[str | None]:
    body = await gql(CONTACTS, {"campaign": campaign, **kw}, token=token)
    assert "errors" not in body, body
    if body["data"]["contacts"] is None:
        return []
    return [n["email"] for n in body["data"]["contacts"]["nodes"]]


class TestContacts:
    async def test_returns_own_contacts_with_consents_and_actions(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given
        lead, a = await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, a)
        page = await f.make_page(session, a, campaign)
        await sign(session, keyring, page, a, lead=lead, email="x@example.net", source="fb")
        _, token = await f.make_token(session, a, ["contacts:read"])
        # when
        body = await gql(CONTACTS, {"campaign": campaign.name}, token=token)
        # then
        [node] = body["data"]["contacts"]["nodes"]
        assert node["email"] == "x@example.net"
        assert node["consents"] == [{"purpose": "communication", "given": True}]
        assert node["actions"] == [
            {
                "actionType": "signature",
                "page": page.name,
                "tracking": {"source": "fb", "medium": None, "campaign": None},
            }
        ]

    async def test_paginates_with_cursor_and_filters(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given
        lead = await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        page = await f.make_page(session, lead, campaign)
        for i in range(3):
            await sign(session, keyring, page, lead, email=f"p{i}@example.net", source=f"s{i}")
        await sign(session, keyring, page, lead, email="no@example.net", opt_in=False)
        _, token = await f.make_token(session, lead, ["contacts:read"])
        # when
        first = await gql(CONTACTS, {"campaign": campaign.name, "first": 2}, token=token)
        cursor = first["data"]["contacts"]["pageInfo"]["endCursor"]
        rest = await emails(gql, campaign.name, token, first=10, after=cursor)
        by_source = await emails(gql, campaign.name, token, filter={"source": "s1"})
        without_consent = await emails(gql, campaign.name, token, filter={"consent": "NONE"})
        # then
        assert first["data"]["contacts"]["pageInfo"]["hasNextPage"] is True
        assert rest == ["p2@example.net", "no@example.net"]
        assert by_source == ["p1@example.net"]
        assert without_consent == []

    async def test_viewer_and_outsider_get_null(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given
        lead, outsider = await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        page = await f.make_page(session, lead, campaign)
        await sign(session, keyring, page, lead)
        _, stats_token = await f.make_token(session, lead, ["stats:read", "contacts:read"])
        _, outsider_token = await f.make_token(session, outsider)
        # when
        outsider_body = await gql(CONTACTS, {"campaign": campaign.name}, token=outsider_token)
        # then
        assert outsider_body["data"]["contacts"] is None
        assert len(await emails(gql, campaign.name, stats_token)) == 1


class TestContactsQueryCount:
    async def test_constant_statements_for_1_and_20_contacts(
        self,
        session: AsyncSession,
        gql: GraphQLClient,
        keyring: Keyring,
        query_counter: QueryCounter,
    ) -> None:
        # given
        counts = []
        for n in (1, 20):
            lead = await f.make_org(session)
            campaign = await f.make_campaign(session, lead)
            page = await f.make_page(session, lead, campaign)
            for i in range(n):
                await sign(session, keyring, page, lead, email=f"q{n}-{i}@example.net")
            _, token = await f.make_token(session, lead, ["contacts:read"])
            await session.flush()
            query_counter.reset()
            # when
            assert len(await emails(gql, campaign.name, token, first=50)) == n
            counts.append(query_counter.count)
        # then
        assert counts[0] == counts[1]
