from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import utcnow
from tests.conftest import GraphQLClient
from tests.factories import make_campaign, make_org, make_page, make_partnership, make_token

ORG = """
query Org($name: String!) {
  org(name: $name) { name title campaigns { name title } actionPages { name status } }
}
"""


class TestOrgQuery:
    async def test_member_sees_its_org_campaigns_and_pages(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given a partner org with a page in someone else's campaign
        lead = await make_org(session)
        org = await make_org(session)
        campaign = await make_campaign(session, lead)
        await make_partnership(session, campaign, org)
        page = await make_page(session, org, campaign)
        _, token = await make_token(session, org, ["stats:read"])
        # when
        result = await gql(ORG, {"name": org.name}, token=token)
        # then
        assert result["data"]["org"] == {
            "name": org.name,
            "title": org.title,
            "campaigns": [{"name": campaign.name, "title": campaign.title}],
            "actionPages": [{"name": page.name, "status": "live"}],
        }

    async def test_other_org_looks_not_found(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        mine, other = await make_org(session), await make_org(session)
        _, token = await make_token(session, mine)
        result = await gql(ORG, {"name": other.name}, token=token)
        assert result == {"data": {"org": None}}

    async def test_anonymous_is_unauthenticated(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        org = await make_org(session)
        result = await gql(ORG, {"name": org.name})
        assert (result["data"] or {}).get("org") is None
        assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    async def test_revoked_expired_and_tampered_tokens_are_rejected(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        org = await make_org(session)
        revoked, revoked_plain = await make_token(session, org)
        revoked.revoked_at = utcnow()
        _, expired_plain = await make_token(
            session, org, expires_at=utcnow() - timedelta(seconds=1)
        )
        _, good = await make_token(session, org)
        tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
        for token in (revoked_plain, expired_plain, tampered, "chub_at_nonsense", "garbage"):
            result = await gql(ORG, {"name": org.name}, token=token)
            assert (result["data"] or {}).get("org") is None, token
            assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", token
        assert (await gql(ORG, {"name": org.name}, token=good))["data"]["org"]["name"] == org.name

    async def test_current_user_is_null_for_a_token(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        org = await make_org(session)
        _, token = await make_token(session, org)
        result = await gql("{ currentUser { email } }", token=token)
        assert result == {"data": {"currentUser": None}}
