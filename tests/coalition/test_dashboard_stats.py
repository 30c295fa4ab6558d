"""The dashboard's numbers (issue 13): campaign-wide breakdowns for the lead and coordinators,
a partner's own pages only, the share funnel per generation, double opt-in, flagged, and the
roll-up that keeps them cheap: the same answers before and after it ran."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from orgs.models import Action, ActionPage, Campaign, Org, PartnerRole, StatRollup
from orgs.stats import repository as stats
from tests import factories as f
from tests.conftest import GraphQLClient

SIGN = """
mutation($page: Int!, $email: String!, $country: String, $tracking: TrackingInput,
         $testing: Boolean) {
  addActionContact(actionPageId: $page, action: {actionType: "signature", testing: $testing},
    contact: {firstName: "Sam", email: $email, address: {country: $country}},
    privacy: {optIn: true}, tracking: $tracking) { contactRef referralCode }
}
"""
SHARE = """
mutation($page: Int!, $ref: ID!, $medium: String!) {
  addAction(actionPageId: $page, contactRef: $ref,
    action: {actionType: "share", customFields: {medium: $medium}}) { contactRef }
}
"""
STATS = """
query($campaign: String!, $org: String, $dimension: StatsDimension!, $from: Date, $to: Date) {
  campaignStats(campaign: $campaign, org: $org) {
    supporters actions goal coverage byType { key count }
    days(from: $from, to: $to) { day signatures newSupporters returning }
    breakdown(dimension: $dimension, from: $from, to: $to) { key count }
    pages(from: $from, to: $to) { page org signatures newSupporters actions { key count } }
    partners(from: $from, to: $to) { org signatures newSupporters actions pages { page } }
    referrals(from: $from, to: $to) { generation sharerPage medium signatures }
    shares(from: $from, to: $to) { medium shares signatures byGeneration { generation signatures } }
    doubleOptIn { asked confirmed rate }
  }
}
"""


@dataclass
class Coalition:
    lead: Org
    a: Org
    b: Org
    campaign: Campaign
    lead_page: ActionPage
    a_page: ActionPage
    b_page: ActionPage
    tokens: dict[str, str]


async def coalition(session: AsyncSession) -> Coalition:
    lead, a, b = [await f.make_org(session) for _ in range(3)]
    campaign = await f.make_campaign(session, lead, goal=1000)
    await f.make_partnership(session, campaign, a)
    await f.make_partnership(session, campaign, b)
    pages = [await f.make_page(session, o, campaign) for o in (lead, a, b)]
    tokens = {o.name: (await f.make_token(session, o, ["stats:read"]))[1] for o in (lead, a, b)}
    return Coalition(lead, a, b, campaign, *pages, tokens)


def email() -> str:
    return f"s-{secrets.token_hex(5)}@example.net"


async def sign(
    gql: GraphQLClient,
    page: ActionPage,
    *,
    who: str | None = None,
    country: str | None = "FR",
    testing: bool = False,
    **tracking: str,
) -> dict[str, Any]:
    body = await gql(
        SIGN,
        {
            "page": page.id,
            "email": who or email(),
            "country": country,
            "tracking": tracking or None,
            "testing": testing,
        },
    )
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["addActionContact"]
    return result


async def share(gql: GraphQLClient, page: ActionPage, ref: str, medium: str) -> None:
    body = await gql(SHARE, {"page": page.id, "ref": ref, "medium": medium})
    assert "errors" not in body, body


async def read(
    gql: GraphQLClient, c: Coalition, as_org: Org, dimension: str = "SOURCE", **variables: Any
) -> dict[str, Any]:
    body = await gql(
        STATS,
        {"campaign": c.campaign.name, "dimension": dimension, **variables},
        token=c.tokens[as_org.name],
    )
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["campaignStats"]
    return found


async def roll_up(connection: AsyncConnection) -> int:
    return await connection.run_sync(lambda conn: stats.roll_up(conn))


async def world(gql: GraphQLClient, session: AsyncSession) -> Coalition:
    """Lead: 2 signatures from a newsletter; A: 3 from facebook ads (one from Germany), one
    of them a person who had signed the lead's page; B: 1 without tracking; one test-mode."""
    c = await coalition(session)
    returning = email()
    await sign(gql, c.lead_page, who=returning, source="newsletter", medium="email")
    await sign(gql, c.lead_page, source="newsletter", medium="email", campaign="launch")
    await sign(gql, c.a_page, source="facebook", medium="ads", country="DE")
    await sign(gql, c.a_page, source="facebook", medium="ads")
    await sign(gql, c.a_page, who=returning, source="facebook", medium="ads")
    await sign(gql, c.b_page, country=None)
    await sign(gql, c.b_page, testing=True, source="secret-test")
    return c


class TestBreakdownsByRole:
    async def test_the_lead_sees_every_page(
        self, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        c = await world(gql, session)
        lead = await read(gql, c, c.lead)
        assert lead["coverage"] == "CAMPAIGN"
        assert lead["supporters"] == 5
        assert lead["goal"] == 1000
        assert lead["breakdown"] == [
            {"key": "facebook", "count": 3},
            {"key": "newsletter", "count": 2},
            {"key": "", "count": 1},
        ]
        today = datetime.now(UTC).date().isoformat()
        assert lead["days"] == [{"day": today, "signatures": 6, "newSupporters": 5, "returning": 1}]
        by_page = {
            p["page"]: (p["org"], p["signatures"], p["newSupporters"]) for p in lead["pages"]
        }
        assert by_page == {
            c.lead_page.name: (c.lead.name, 2, 2),
            c.a_page.name: (c.a.name, 3, 2),
            c.b_page.name: (c.b.name, 1, 1),
        }
        assert [(p["org"], p["signatures"]) for p in lead["partners"]] == sorted(
            [(c.lead.name, 2), (c.a.name, 3), (c.b.name, 1)]
        )

    async def test_a_partner_sees_campaign_totals_and_its_own_pages_only(
        self, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        c = await world(gql, session)
        a = await read(gql, c, c.a)
        assert a["coverage"] == "OWN_PAGES"
        assert a["supporters"] == 5  # the campaign's total
        assert a["breakdown"] == [{"key": "facebook", "count": 3}]
        assert [p["page"] for p in a["pages"]] == [c.a_page.name]
        assert a["partners"] is None
        assert a["days"][0]["signatures"] == 3
        b = await read(gql, c, c.b, "SOURCE")
        assert b["breakdown"] == [{"key": "", "count": 1}]  # never "secret-test" (test mode)
        assert "newsletter" not in str(b)
        assert c.a_page.name not in str(b)

    async def test_every_dimension(self, gql: GraphQLClient, session: AsyncSession) -> None:
        c = await world(gql, session)

        async def counts(dimension: str) -> dict[str, int]:
            found = await read(gql, c, c.lead, dimension)
            return {row["key"]: row["count"] for row in found["breakdown"]}

        assert await counts("MEDIUM") == {"email": 2, "ads": 3, "": 1}
        assert await counts("UTM_CAMPAIGN") == {"launch": 1, "": 5}
        assert await counts("COUNTRY") == {"FR": 3, "DE": 1}  # new supporters who gave one
        assert await counts("NEW_OR_RETURNING") == {"new": 5, "returning": 1}
        assert await counts("ACTION_TYPE") == {"signature": 6}
        assert await counts("FLAGGED") == {}

    async def test_an_outsider_and_an_unknown_org_get_nothing(
        self, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        c = await world(gql, session)
        outsider = await f.make_org(session)
        token = (await f.make_token(session, outsider, ["stats:read"]))[1]
        variables = {"campaign": c.campaign.name, "dimension": "SOURCE"}
        body = await gql(STATS, variables, token=token)
        assert body["data"]["campaignStats"] is None
        # a partner naming another org it is not staff of
        body = await gql(STATS, {**variables, "org": c.lead.name}, token=c.tokens[c.a.name])
        assert body["data"]["campaignStats"] is None
        # anonymous
        body = await gql(STATS, variables)
        assert body["data"] is None or body["data"]["campaignStats"] is None

    async def test_a_coordinator_sees_the_campaign(
        self, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        c = await world(gql, session)
        coordinator = await f.make_org(session)
        await f.make_partnership(session, c.campaign, coordinator, role=PartnerRole.COORDINATOR)
        c.tokens[coordinator.name] = (await f.make_token(session, coordinator, ["stats:read"]))[1]
        found = await read(gql, c, coordinator)
        assert found["coverage"] == "CAMPAIGN"
        assert len(found["partners"]) == 3


class TestRareKeys:
    async def test_other_pages_keys_that_few_share_are_summed(
        self, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given a partner's mailing tool that puts a per-recipient code in utm_source
        c = await coalition(session)
        for n in range(4):
            await sign(gql, c.a_page, source=f"mc-{n:04d}", medium="email")
        for _ in range(3):
            await sign(gql, c.a_page, source="facebook", medium="email")
        await sign(gql, c.lead_page, source="own-one-off")
        # when the lead and A read the sources
        lead = await read(gql, c, c.lead)
        a = await read(gql, c, c.a)
        # then the lead sees facebook, its own one-off, and the codes summed as rare
        assert lead["breakdown"] == [
            {"key": "(rare)", "count": 4},
            {"key": "facebook", "count": 3},
            {"key": "own-one-off", "count": 1},
        ]
        # A sees its own pages as they are
        assert len(a["breakdown"]) == 5
        assert {"key": "mc-0003", "count": 1} in a["breakdown"]


class TestDays:
    async def test_days_and_ranges(
        self, gql: GraphQLClient, session: AsyncSession, connection: AsyncConnection
    ) -> None:
        c = await coalition(session)
        for _ in range(3):
            await sign(gql, c.lead_page, source="x")
        await sign(gql, c.a_page, source="y")
        # three of them were taken two and five days ago
        today = datetime.now(UTC).replace(hour=12)
        ids = (await session.execute(select(col(Action.id)).order_by(col(Action.id)))).scalars()
        first, second, *_ = list(ids)
        for action_id, days_ago in ((first, 5), (second, 2)):
            await session.execute(
                update(Action)
                .where(col(Action.id) == action_id)
                .values(created_at=today - timedelta(days=days_ago))
            )
        await session.flush()
        day = today.date()
        found = await read(gql, c, c.lead)
        assert [(d["day"], d["signatures"]) for d in found["days"]] == [
            ((day - timedelta(days=5)).isoformat(), 1),
            ((day - timedelta(days=2)).isoformat(), 1),
            (day.isoformat(), 2),
        ]
        window = {"from": (day - timedelta(days=3)).isoformat(), "to": day.isoformat()}
        found = await read(gql, c, c.lead, **window)
        assert [d["signatures"] for d in found["days"]] == [1, 2]
        # the lead's own page's source, and A's one signature of "y" summed as rare
        assert {r["key"]: r["count"] for r in found["breakdown"]} == {"x": 2, "(rare)": 1}
        # an empty range, and a reversed one
        assert (await read(gql, c, c.lead, **{"from": "2001-01-01", "to": "2001-01-31"}))[
            "days"
        ] == []
        assert (await read(gql, c, c.lead, **{"from": window["to"], "to": window["from"]}))[
            "breakdown"
        ] == []


class TestRollUp:
    async def test_the_same_answers_before_and_after_the_roll_up(
        self, gql: GraphQLClient, session: AsyncSession, connection: AsyncConnection
    ) -> None:
        c = await world(gql, session)
        before = {as_org.name: await read(gql, c, as_org) for as_org in (c.lead, c.a, c.b)}
        rolled = await roll_up(connection)
        assert rolled == 7
        assert await roll_up(connection) == 0  # nothing left
        rows = (await session.execute(select(func.count()).select_from(StatRollup))).scalar()
        assert rows
        assert rows > 0
        after = {as_org.name: await read(gql, c, as_org) for as_org in (c.lead, c.a, c.b)}
        assert after == before
        # half rolled up, half waiting: still the same
        await sign(gql, c.a_page, source="facebook", medium="ads")
        await roll_up(connection)
        await sign(gql, c.a_page, source="facebook", medium="ads")
        found = await read(gql, c, c.lead)
        assert found["breakdown"][0] == {"key": "facebook", "count": 5}

    async def test_a_person_who_says_it_was_not_them_leaves_every_count(
        self, gql: GraphQLClient, session: AsyncSession, connection: AsyncConnection
    ) -> None:
        from orgs.intake.repository import uncount_supporter

        c = await world(gql, session)
        await roll_up(connection)
        victim = (
            (
                await session.execute(
                    select(col(Action.supporter_id)).where(
                        col(Action.tracking_campaign) == "launch"
                    )
                )
            )
            .scalars()
            .first()
        )
        assert victim is not None
        await uncount_supporter(connection, victim)
        for _ in range(2):  # before and after the next roll-up
            lead = await read(gql, c, c.lead, "FLAGGED")
            assert lead["supporters"] == 4
            assert lead["breakdown"] == [{"key": "rejected", "count": 1}]
            sources = await read(gql, c, c.lead, "SOURCE")
            assert {r["key"]: r["count"] for r in sources["breakdown"]} == {
                "facebook": 3,
                "newsletter": 1,
                "": 1,
            }
            await roll_up(connection)


class TestSharesAndReferrals:
    async def test_the_share_funnel_per_generation(
        self, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        c = await coalition(session)
        # a supporter signs on A's page and shares to WhatsApp and by mail
        first = await sign(gql, c.a_page, source="newsletter")
        await share(gql, c.a_page, first["contactRef"], "whatsapp")
        await share(gql, c.a_page, first["contactRef"], "email")
        # two friends come through the WhatsApp link; one of them shares on in turn
        friend = await sign(
            gql, c.a_page, source="share", medium="whatsapp", referralCode=first["referralCode"]
        )
        await sign(
            gql, c.a_page, source="share", medium="whatsapp", referralCode=first["referralCode"]
        )
        await share(gql, c.a_page, friend["contactRef"], "whatsapp")
        await sign(
            gql, c.a_page, source="share", medium="whatsapp", referralCode=friend["referralCode"]
        )
        # and one through a link shared from A's page lands on B's page
        await sign(
            gql, c.b_page, source="share", medium="telegram", referralCode=first["referralCode"]
        )
        a = await read(gql, c, c.a)
        assert a["shares"] == [
            {
                "medium": "whatsapp",
                "shares": 2,
                "signatures": 3,
                "byGeneration": [
                    {"generation": 1, "signatures": 2},
                    {"generation": 2, "signatures": 1},
                ],
            },
            {"medium": "email", "shares": 1, "signatures": 0, "byGeneration": []},
        ]
        assert {
            (r["generation"], r["sharerPage"], r["medium"], r["signatures"]) for r in a["referrals"]
        } == {(1, c.a_page.name, "whatsapp", 2), (2, c.a_page.name, "whatsapp", 1)}
        # the lead sees every page's, with media that few signatures share summed as rare
        lead = await read(gql, c, c.lead)
        assert {
            (r["generation"], r["sharerPage"], r["medium"], r["signatures"])
            for r in lead["referrals"]
        } == {(1, c.a_page.name, "(rare)", 3), (2, c.a_page.name, "(rare)", 1)}
        # B sees the signature on its page, not which partner's page the sharer was on
        b = await read(gql, c, c.b)
        assert b["referrals"] == [
            {"generation": 1, "sharerPage": None, "medium": "telegram", "signatures": 1}
        ]
        assert c.a_page.name not in str(b)
        assert b["shares"] == [
            {
                "medium": "telegram",
                "shares": 0,
                "signatures": 1,
                "byGeneration": [{"generation": 1, "signatures": 1}],
            }
        ]


class TestDoubleOptIn:
    async def test_asked_and_confirmed(
        self, gql: GraphQLClient, session: AsyncSession, connection: AsyncConnection
    ) -> None:
        from orgs.contacts.repository import confirm_supporter

        c = await coalition(session)
        c.a_page.double_opt_in = True
        session.add(c.a_page)
        await session.flush()
        for _ in range(4):
            await sign(gql, c.a_page)
        await sign(gql, c.lead_page)  # no double opt-in there
        supporters = (
            (
                await session.execute(
                    select(col(Action.supporter_id)).where(
                        col(Action.action_page_id) == c.a_page.id
                    )
                )
            )
            .scalars()
            .all()
        )
        for supporter_id in supporters[:3]:
            assert supporter_id is not None
            assert await confirm_supporter(connection, supporter_id)
        assert not await confirm_supporter(connection, supporters[0])  # only once
        a = await read(gql, c, c.a)
        assert a["doubleOptIn"] == {"asked": 4, "confirmed": 3, "rate": 0.75}
        lead = await read(gql, c, c.lead)
        assert lead["doubleOptIn"] == {"asked": 4, "confirmed": 3, "rate": 0.75}
        b = await read(gql, c, c.b)
        assert b["doubleOptIn"] == {"asked": 0, "confirmed": 0, "rate": None}
