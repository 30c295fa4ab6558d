from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import PageStatus
from tests.conftest import GraphQLClient
from tests.factories import make_campaign, make_org, make_page

ACTION_PAGE = """
query ActionPage($id: Int, $name: String) {
  actionPage(id: $id, name: $name) {
    id name locale status config doubleOptIn
    org { name title privacyPolicyUrl }
    campaign { name title goal leadOrg { name title } consent { version optInText leadOptInText } }
  }
}
"""


class TestActionPage:
    async def test_live_page_by_id_and_name(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given a partner page in a campaign led by another org
        lead = await make_org(session, title="Lead Org")
        partner = await make_org(session, title="Partner Org")
        campaign = await make_campaign(session, lead, goal=5000)
        page = await make_page(session, partner, campaign, locale="fr", config={"theme": {}})
        # when
        by_id = await gql(ACTION_PAGE, {"id": page.id})
        by_name = await gql(ACTION_PAGE, {"name": page.name})
        # then
        assert by_id == by_name
        found = by_id["data"]["actionPage"]
        assert found["id"] == page.id
        assert found["status"] == "LIVE"
        assert found["locale"] == "fr"
        assert found["config"] == {"theme": {}}
        assert found["org"] == {
            "name": partner.name,
            "title": "Partner Org",
            "privacyPolicyUrl": f"https://{partner.name}.example.org/privacy",
        }
        assert found["campaign"]["goal"] == 5000
        assert found["campaign"]["leadOrg"] == {"name": lead.name, "title": "Lead Org"}
        assert found["campaign"]["consent"] == {
            "version": "v1",
            "optInText": "Email me, {org}",
            "leadOptInText": "Email me, {lead}",
        }

    @pytest.mark.parametrize(
        "status", [PageStatus.DRAFT, PageStatus.LAUNCH_REQUESTED, PageStatus.PAUSED]
    )
    async def test_unpublished_page_is_invisible(
        self, session: AsyncSession, gql: GraphQLClient, status: PageStatus
    ) -> None:
        org = await make_org(session)
        page = await make_page(session, org, await make_campaign(session, org), status=status)
        result = await gql(ACTION_PAGE, {"id": page.id})
        assert result == {"data": {"actionPage": None}}

    async def test_closed_page_says_closed(self, session: AsyncSession, gql: GraphQLClient) -> None:
        org = await make_org(session)
        page = await make_page(
            session, org, await make_campaign(session, org), status=PageStatus.CLOSED
        )
        result = await gql(ACTION_PAGE, {"id": page.id})
        assert result["data"]["actionPage"]["status"] == "CLOSED"

    async def test_unknown_page_is_null(self, gql: GraphQLClient) -> None:
        assert await gql(ACTION_PAGE, {"id": 987654321}) == {"data": {"actionPage": None}}
        assert await gql(ACTION_PAGE, {}) == {"data": {"actionPage": None}}

    async def test_cacheable_get(self, session: AsyncSession, client, gql: GraphQLClient) -> None:  # type: ignore[no-untyped-def]
        org = await make_org(session)
        page = await make_page(session, org, await make_campaign(session, org))
        await session.flush()
        response = await client.get(
            "/graphql",
            params={
                "query": "query($id: Int){ actionPage(id: $id) { name } }",
                "variables": f'{{"id": {page.id}}}',
            },
        )
        assert response.status_code == 200
        assert response.json() == {"data": {"actionPage": {"name": page.name}}}
