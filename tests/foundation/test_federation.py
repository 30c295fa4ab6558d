from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import GraphQLClient
from tests.factories import make_campaign, make_org, make_page, make_token

ENTITIES = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    ... on Org { name title }
    ... on Campaign { name title }
    ... on OrgActionPage { id name }
  }
}
"""


class TestEntities:
    async def test_member_resolves_its_own_entities_and_nothing_else(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given two orgs with a campaign and a page each
        mine, other = await make_org(session), await make_org(session)
        my_campaign = await make_campaign(session, mine)
        other_campaign = await make_campaign(session, other)
        my_page = await make_page(session, mine, my_campaign)
        other_page = await make_page(session, other, other_campaign)
        _, token = await make_token(session, mine)
        reps = [
            {"__typename": "Org", "name": mine.name},
            {"__typename": "Org", "name": other.name},
            {"__typename": "Campaign", "id": my_campaign.id},
            {"__typename": "Campaign", "id": other_campaign.id},
            {"__typename": "OrgActionPage", "id": my_page.id},
            {"__typename": "OrgActionPage", "id": other_page.id},
        ]
        # when
        result = await gql(ENTITIES, {"reps": reps}, token=token)
        # then
        assert result["data"]["_entities"] == [
            {"name": mine.name, "title": mine.title},
            None,
            {"name": my_campaign.name, "title": my_campaign.title},
            None,
            {"id": my_page.id, "name": my_page.name},
            None,
        ]

    async def test_anonymous_resolves_nothing(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        org = await make_org(session)
        result = await gql(ENTITIES, {"reps": [{"__typename": "Org", "name": org.name}]})
        assert result["data"]["_entities"] == [None]
