"""campaignStats: totals for every partner; per-partner breakdown for lead/coordinators."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.crypto import Keyring
from tests import factories as f
from tests.coalition.helpers import sign
from tests.conftest import GraphQLClient

STATS = """
query($campaign: String!) {
  campaignStats(campaign: $campaign) {
    supporters actions
    byPartner { org page actions }
    own { source { key actions } country { key actions } day { actions } }
  }
}
"""


class TestCampaignStats:
    async def test_totals_for_all_breakdown_by_role(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given
        lead, a = await f.make_org(session), await f.make_org(session)
        outsider = await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, a)
        lead_page = await f.make_page(session, lead, campaign)
        a_page = await f.make_page(session, a, campaign)
        await sign(session, keyring, lead_page, lead, source="fb")
        await sign(session, keyring, a_page, a, source="tw")
        await sign(session, keyring, a_page, a, source="tw")
        tokens = {
            o.name: (await f.make_token(session, o, ["stats:read"]))[1] for o in (lead, a, outsider)
        }
        # when
        as_lead = await gql(STATS, {"campaign": campaign.name}, token=tokens[lead.name])
        as_a = await gql(STATS, {"campaign": campaign.name}, token=tokens[a.name])
        as_outsider = await gql(STATS, {"campaign": campaign.name}, token=tokens[outsider.name])
        # then
        lead_stats, a_stats = as_lead["data"]["campaignStats"], as_a["data"]["campaignStats"]
        assert lead_stats["supporters"] == a_stats["supporters"] == 3
        assert sorted(lead_stats["byPartner"], key=lambda r: r["actions"]) == [
            {"org": lead.name, "page": lead_page.name, "actions": 1},
            {"org": a.name, "page": a_page.name, "actions": 2},
        ]
        assert a_stats["byPartner"] is None
        assert a_stats["own"]["source"] == [{"key": "tw", "actions": 2}]
        assert a_stats["own"]["country"] == [{"key": "FR", "actions": 2}]
        assert lead_stats["own"]["source"] == [{"key": "fb", "actions": 1}]
        assert as_outsider["data"]["campaignStats"] is None

    async def test_own_countries_are_those_typed_on_own_pages(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given a supporter gave a country on A's page; B knows their address and signs it
        # on its own page without one (issue 10)
        lead, a, b = await f.make_org(session), await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, a)
        await f.make_partnership(session, campaign, b)
        a_page, b_page = (
            await f.make_page(session, a, campaign),
            await f.make_page(session, b, campaign),
        )
        await sign(session, keyring, a_page, a, email="known@example.net")
        sign_again = (
            "mutation($p: Int!) { addActionContact(actionPageId: $p, action: {actionType: "
            '"signature"}, contact: {email: "known@example.net"}, privacy: {optIn: true}) '
            "{ contactRef } }"
        )
        assert "errors" not in await gql(sign_again, {"p": b_page.id})
        tokens = {o.name: (await f.make_token(session, o, ["stats:read"]))[1] for o in (a, b)}
        # when
        as_a = await gql(STATS, {"campaign": campaign.name}, token=tokens[a.name])
        as_b = await gql(STATS, {"campaign": campaign.name}, token=tokens[b.name])
        # then B's breakdown has B's action but not the country typed on A's page
        assert as_b["data"]["campaignStats"]["own"]["source"] == [{"key": None, "actions": 1}]
        assert as_b["data"]["campaignStats"]["own"]["country"] == []
        assert as_a["data"]["campaignStats"]["own"]["country"] == [{"key": "FR", "actions": 1}]
