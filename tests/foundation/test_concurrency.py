"""One request, many resolvers at once: every shape answers, in one transaction, without N+1.

graphql-core resolves a query's root fields, and sibling fields of one object, concurrently;
they all work in the request's single session (resolvers/context.py), which serialises its
database calls. These tests send the shapes that used to fail with "Unexpected error."
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlmodel import col

import resolvers.org
from hub.app import create_app
from hub.db import UnitOfWork
from hub.settings import Settings
from orgs.crypto import Keyring
from orgs.models import Action, ActionPage, Campaign, Org, Supporter
from resolvers.context import Context
from tests import factories as f
from tests.coalition.conftest import QueryCounter
from tests.coalition.helpers import sign
from tests.conftest import GraphQLClient


def no_errors(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


async def world(session: AsyncSession, keyring: Keyring, signatures: int = 2) -> dict[str, Any]:
    """A lead and a partner in a live campaign, a page each, a few signatures on each."""
    lead, partner = await f.make_org(session), await f.make_org(session)
    campaign = await f.make_campaign(session, lead)
    await f.make_partnership(session, campaign, partner)
    lead_page = await f.make_page(session, lead, campaign)
    partner_page = await f.make_page(session, partner, campaign)
    for i in range(signatures):
        await sign(session, keyring, lead_page, lead, source=f"lead-{i}")
        await sign(session, keyring, partner_page, partner, lead=lead, lead_opt_in=True)
    _, token = await f.make_token(session, lead)
    return {
        "lead": lead,
        "partner": partner,
        "campaign": campaign,
        "lead_page": lead_page,
        "partner_page": partner_page,
        "token": token,
    }


class TestRootFields:
    async def test_two_aliased_action_pages(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given
        w = await world(session, keyring, signatures=0)
        a, b = w["lead_page"].id, w["partner_page"].id
        # when
        body = await gql(f"{{ a: actionPage(id: {a}) {{ id }} b: actionPage(id: {b}) {{ id }} }}")
        # then
        assert no_errors(body) == {"a": {"id": a}, "b": {"id": b}}

    async def test_the_same_field_aliased_twenty_times(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given
        w = await world(session, keyring, signatures=1)
        page = w["lead_page"]
        fields = " ".join(
            f"p{i}: actionPage(id: {page.id}) {{ name stats {{ supporterCount }} }}"
            for i in range(20)
        )
        # when
        body = await gql(f"{{ {fields} }}")
        # then
        data = no_errors(body)
        assert data == {
            f"p{i}": {"name": page.name, "stats": {"supporterCount": 1}} for i in range(20)
        }

    async def test_different_root_fields_side_by_side(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given
        w = await world(session, keyring)
        lead, campaign = w["lead"], w["campaign"]
        query = f"""{{
          org(name: "{lead.name}") {{ name }}
          campaignStats(campaign: "{campaign.name}") {{ supporters actions }}
          contacts(campaign: "{campaign.name}") {{ nodes {{ ref }} }}
          actionPage(id: {w["lead_page"].id}) {{ name }}
          staff(org: "{lead.name}") {{ role }}
        }}"""
        # when
        data = no_errors(await gql(query, token=w["token"]))
        # then
        assert data["org"] == {"name": lead.name}
        assert data["campaignStats"] == {"supporters": 4, "actions": 4}
        # the lead holds its own signers and the partner's lead opt-ins
        assert len(data["contacts"]["nodes"]) == 4
        assert data["actionPage"] == {"name": w["lead_page"].name}
        assert data["staff"] == []


class TestNestedFields:
    async def test_org_campaigns_and_pages_side_by_side(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given
        w = await world(session, keyring, signatures=0)
        lead = w["lead"]
        query = f'{{ org(name: "{lead.name}") {{ campaigns {{ name }} actionPages {{ name }} }} }}'
        # when
        data = no_errors(await gql(query, token=w["token"]))
        # then
        assert data["org"] == {
            "campaigns": [{"name": w["campaign"].name}],
            "actionPages": [{"name": w["lead_page"].name}],
        }

    async def test_page_stats_next_to_campaign_stats(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given
        w = await world(session, keyring, signatures=2)
        query = f"""{{ actionPage(id: {w["partner_page"].id}) {{
          stats {{ supporterCount }} campaign {{ stats {{ supporterCount }} }}
        }} }}"""
        # when
        data = no_errors(await gql(query))
        # then
        assert data["actionPage"] == {
            "stats": {"supporterCount": 2},
            "campaign": {"stats": {"supporterCount": 4}},
        }

    async def test_two_dataloaders_dispatch_together(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given
        w = await world(session, keyring, signatures=3)
        query = f"""{{ contacts(campaign: "{w["campaign"].name}") {{
          nodes {{ ref consents {{ given }} actions {{ actionType }} }}
        }} }}"""
        # when
        data = no_errors(await gql(query, token=w["token"]))
        # then
        nodes = data["contacts"]["nodes"]
        assert len(nodes) == 6
        for node in nodes:
            assert node["consents"] == [{"given": True}]
            assert node["actions"] == [{"actionType": "signature"}]

    async def test_federation_entities_side_by_side(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given
        w = await world(session, keyring, signatures=0)
        reps = [
            {"__typename": "Org", "name": w["lead"].name},
            {"__typename": "Campaign", "id": w["campaign"].id},
            {"__typename": "OrgActionPage", "id": w["lead_page"].id},
        ] * 5
        query = """query($reps: [_Any!]!) { _entities(representations: $reps) {
          ... on Org { name campaigns { name } actionPages { name } }
          ... on Campaign { name }
          ... on OrgActionPage { name }
        } }"""
        # when
        data = no_errors(await gql(query, {"reps": reps}, token=w["token"]))
        # then
        assert (
            data["_entities"]
            == [
                {
                    "name": w["lead"].name,
                    "campaigns": [{"name": w["campaign"].name}],
                    "actionPages": [{"name": w["lead_page"].name}],
                },
                {"name": w["campaign"].name},
                {"name": w["lead_page"].name},
            ]
            * 5
        )


@pytest.fixture
async def cached_gql(
    settings: Settings, uow: UnitOfWork, session: AsyncSession
) -> AsyncIterator[GraphQLClient]:
    """The app as deployed: public reads are reused across requests for a while."""
    app = create_app(settings.model_copy(update={"public_cache_seconds": 60.0}), uow=uow)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield GraphQLClient(http, session)


class TestRowsOutliveTheirRequest:
    """resolvers/public.py reuses a page's rows across requests (public_cache_seconds).

    A rollback used to expire them, and every reader of the cached page got "Instance
    <ActionPage> is not bound to a Session" until the cache entry aged out: what fuzzing
    hit after the concurrency errors above had rolled requests back.
    """

    async def test_a_rolled_back_request_leaves_cached_pages_readable(
        self, session: AsyncSession, cached_gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given a request that reads a page (now cached) and fails elsewhere, so it rolls back
        w = await world(session, keyring, signatures=0)
        page = w["lead_page"]
        failed = await cached_gql(
            f'{{ actionPage(id: {page.id}) {{ id }} org(name: "x") {{ id }} }}'
        )
        assert failed["data"]["actionPage"] == {"id": page.id}
        assert failed["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        # when the next request reads the cached page
        body = await cached_gql(f"{{ actionPage(id: {page.id}) {{ name org {{ name }} }} }}")
        # then
        assert no_errors(body) == {
            "actionPage": {"name": page.name, "org": {"name": w["lead"].name}}
        }


def shapes(w: dict[str, Any]) -> dict[str, str]:
    """Every concurrent shape of this module, as (name, document) for one world."""
    lead, campaign = w["lead"], w["campaign"]
    pages = " ".join(f"p{i}: actionPage(id: {w['lead_page'].id}) {{ id }}" for i in range(20))
    return {
        "aliased": f"{{ {pages} }}",
        "root fields": f"""{{
            org(name: "{lead.name}") {{ name }}
            campaignStats(campaign: "{campaign.name}") {{ supporters }}
            contacts(campaign: "{campaign.name}") {{ nodes {{ ref }} }}
            actionPage(id: {w["lead_page"].id}) {{ name }}
        }}""",
        "nested": f"""{{ org(name: "{lead.name}") {{
            campaigns {{ name }} actionPages {{ name }} }} }}""",
        "stats": f"""{{ actionPage(id: {w["partner_page"].id}) {{
            stats {{ supporterCount }} campaign {{ stats {{ supporterCount }} }} }} }}""",
        "loaders": f"""{{ contacts(campaign: "{campaign.name}") {{
            nodes {{ consents {{ given }} actions {{ actionType }} }} }} }}""",
    }


PUBLIC_SHAPES = ("aliased", "stats")


class TestOnARealPool:
    """As deployed: each request checks a connection out of the engine (no test transaction).

    Checking the connection out takes real time, which is when concurrent resolvers used to
    collide ("This session is provisioning a new connection").
    """

    async def test_every_shape_answers(
        self, fresh_engine: AsyncEngine, settings: Settings, keyring: Keyring
    ) -> None:
        # given a world committed to a database of its own, and the app on its engine
        uow = UnitOfWork(fresh_engine)
        async with uow.session() as session:
            w = await world(session, keyring)
        app = create_app(settings, uow=uow)
        transport = httpx.ASGITransport(app=app)
        failed: dict[str, Any] = {}
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
            for name, query in shapes(w).items():
                # the public shapes anonymously (no statement before the resolvers run)
                token = None if name in PUBLIC_SHAPES else w["token"]
                headers = {"authorization": f"Bearer {token}"} if token else {}
                # when
                response = await http.post("/graphql", json={"query": query}, headers=headers)
                # then
                body = response.json()
                if "errors" in body or None in body["data"].values():
                    failed[name] = body
        assert failed == {}


@pytest.fixture
def statements(connection: AsyncConnection) -> Iterator[QueryCounter]:
    """The SQL statements run on the test's connection (the app shares it)."""
    counter = QueryCounter()
    event.listen(connection.sync_connection, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", counter)


class TestMutations:
    async def test_later_fields_read_what_earlier_ones_wrote(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        lead = await f.make_org(session)
        _, token = await f.make_token(session, lead)
        page = f"{lead.name}/new"
        query = f"""mutation {{
          addCampaign(input: {{org: "{lead.name}", name: "{lead.name}-c", title: "C"}}) {{
            ... on AddCampaignSuccess {{ campaign {{ name }} }}
          }}
          addActionPage(input: {{campaign: "{lead.name}-c", org: "{lead.name}", name: "{page}"}}) {{
            ... on AddActionPageSuccess {{ page {{ name status }} }}
          }}
          requestLaunch(input: {{page: "{page}"}}) {{
            __typename ... on RequestLaunchSuccess {{ page {{ name }} }}
          }}
        }}"""
        # when
        data = no_errors(await gql(query, token=token))
        # then
        assert data["addCampaign"] == {"campaign": {"name": f"{lead.name}-c"}}
        assert data["addActionPage"] == {"page": {"name": page, "status": "draft"}}
        assert data["requestLaunch"]["__typename"] == "RequestLaunchSuccess"

    async def test_a_second_signature_sees_the_first_in_the_same_transaction(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given
        w = await world(session, keyring, signatures=0)
        page = w["lead_page"]
        query = """mutation($p: Int!, $c: ContactInput!) {
          a: addActionContact(actionPageId: $p, action: {actionType: "signature"}, contact: $c,
                              privacy: {optIn: true}) { contactRef }
          b: addActionContact(actionPageId: $p, action: {actionType: "share"}, contact: $c,
                              privacy: {optIn: true}) { contactRef }
        }"""
        contact = {"firstName": "Ada", "email": "ada@example.net", "address": {"country": "FR"}}
        # when
        data = no_errors(await gql(query, {"p": page.id, "c": contact}))
        # then the second found the supporter the first wrote: one person, both actions
        assert data["a"]["contactRef"]
        assert data["b"]["contactRef"]
        supporters = await session.scalar(
            select(func.count()).where(col(Supporter.campaign_id) == page.campaign_id)
        )
        actions = await session.scalar(
            select(func.count()).where(col(Action.action_page_id) == page.id)
        )
        assert (supporters, actions) == (1, 2)

    async def test_a_failing_field_rolls_back_the_earlier_ones(
        self,
        session: AsyncSession,
        gql: GraphQLClient,
        keyring: Keyring,
        statements: QueryCounter,
    ) -> None:
        # given
        w = await world(session, keyring, signatures=0)
        lead = w["lead"]
        query = f"""mutation {{
          addCampaign(input: {{org: "{lead.name}", name: "{lead.name}-gone", title: "C"}}) {{
            __typename
          }}
          addActionContact(actionPageId: {w["lead_page"].id}, action: {{actionType: "signature"}},
                           contact: {{email: "not an email"}}, privacy: {{optIn: true}}) {{
            contactRef
          }}
        }}"""
        # when
        body = await gql(query, token=w["token"])
        # then
        assert body["data"] is None  # addActionContact is non-null
        assert body["errors"][0]["path"][0] == "addActionContact"
        assert any(sql.startswith("INSERT INTO campaign ") for sql in statements.statements)
        found = await session.scalar(
            select(func.count()).where(col(Campaign.name) == f"{lead.name}-gone")
        )
        assert found == 0


class TestBatching:
    async def test_consents_and_actions_stay_one_statement_each(
        self,
        session: AsyncSession,
        gql: GraphQLClient,
        keyring: Keyring,
        statements: QueryCounter,
    ) -> None:
        # given two campaigns, with 1 and 15 contacts (and 2 actions each)
        counts, loads = [], []
        for n in (1, 15):
            lead = await f.make_org(session)
            campaign = await f.make_campaign(session, lead)
            page = await f.make_page(session, lead, campaign)
            for i in range(n):
                email = f"b{n}-{i}@example.net"
                await sign(session, keyring, page, lead, email=email)
                await sign(session, keyring, page, lead, email=email, action_type="share")
            _, token = await f.make_token(session, lead, ["contacts:read"])
            await session.flush()
            query = f"""{{ contacts(campaign: "{campaign.name}") {{
              nodes {{ consents {{ given }} actions {{ actionType }} }} }} }}"""
            statements.reset()
            # when
            data = no_errors(await gql(query, token=token))
            # then
            assert len(data["contacts"]["nodes"]) == n
            assert all(len(node["actions"]) == 2 for node in data["contacts"]["nodes"])
            counts.append(statements.count)
            # the page of contacts (its flagged column reads action), then one statement per
            # loader (the action one also reads consent: the visibility rule)
            loads.append(
                sum(
                    1
                    for sql in statements.statements
                    if any(
                        f"FROM {t} " in sql or f"FROM {t}\n" in sql for t in ("consent", "action")
                    )
                )
            )
        # then
        assert counts[0] == counts[1], statements.statements
        assert counts[1] <= 8, statements.statements
        assert loads == [3, 3]


class TestCancellation:
    """A failing non-null field makes graphql-core cancel its siblings mid-statement."""

    async def test_a_sibling_cancelled_mid_statement_leaves_the_request_working(
        self,
        session: AsyncSession,
        gql: GraphQLClient,
        keyring: Keyring,
        connection: AsyncConnection,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # given campaigns in a slow statement while the pages next to them fail (a bug)
        w = await world(session, keyring, signatures=0)
        campaigns_of = resolvers.org.campaigns_of

        async def slow_campaigns(ctx: Context, org_id: int) -> list[Campaign]:
            await (await ctx.session()).execute(text("SELECT pg_sleep(0.2)"))
            return await campaigns_of(ctx, org_id)

        async def broken_pages(ctx: Context, org_id: int) -> list[ActionPage]:
            await asyncio.sleep(0.05)
            raise RuntimeError("a bug")

        monkeypatch.setattr(resolvers.org, "campaigns_of", slow_campaigns)
        monkeypatch.setattr(resolvers.org, "pages_of", broken_pages)
        query = f"""{{
          org(name: "{w["lead"].name}") {{ campaigns {{ name }} actionPages {{ name }} }}
          actionPage(id: {w["lead_page"].id}) {{ name }}
        }}"""
        # when
        body = await gql(query, token=w["token"])
        # then only the broken field's object is lost; the connection was never interrupted
        assert body["data"] == {"org": None, "actionPage": {"name": w["lead_page"].name}}
        assert [e["path"] for e in body["errors"]] == [["org", "actionPages"]]
        assert not connection.invalidated


class TestRequestSession:
    async def test_a_call_waits_for_a_cancelled_callers_statement(self, uow: UnitOfWork) -> None:
        # given
        session = uow.request_session()
        slow = asyncio.create_task(session.execute(text("SELECT pg_sleep(0.2), 1")))
        await asyncio.sleep(0.05)
        # when
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        # then the next statement runs after it, in the same (intact) transaction
        assert (await session.execute(text("SELECT 2"))).scalar_one() == 2
        await session.end(commit=False)

    async def test_core_statements_take_the_same_turns(self, uow: UnitOfWork) -> None:
        # given
        session = uow.request_session()
        conn = await session.connection()
        # when the ORM and Core statements run at once
        results = await asyncio.gather(
            *(conn.scalar(text(f"SELECT {i}")) for i in range(5)),
            *(session.scalar(text(f"SELECT {i}")) for i in range(5, 10)),
            conn.exec_driver_sql("SELECT 10"),
        )
        # then
        assert results[:10] == list(range(10))
        async with conn.stream(text("SELECT generate_series(1, 3)")) as rows:
            assert [r[0] async for r in rows] == [1, 2, 3]
        with pytest.raises(InvalidRequestError):
            await conn.commit()
        await session.end(commit=False)

    async def test_add_during_a_statement_joins_when_it_settles(
        self, uow: UnitOfWork, session: AsyncSession
    ) -> None:
        # given a statement in flight
        request = uow.request_session()
        slow = asyncio.create_task(request.execute(text("SELECT pg_sleep(0.1)")))
        await asyncio.sleep(0.02)
        org = Org(name="added-while-busy", title="Added", settings={})
        # when
        request.add(org)
        assert org not in request
        await slow
        # then
        assert org in request
        await request.flush()
        await request.end(commit=True)
        assert await session.scalar(select(col(Org.id)).where(col(Org.name) == org.name))

    async def test_nothing_runs_after_the_end(self, uow: UnitOfWork) -> None:
        # given
        session = uow.request_session()
        await session.execute(text("SELECT 1"))
        # when
        await session.end(commit=False)
        # then no statement opens a transaction nobody would end
        with pytest.raises(InvalidRequestError):
            await session.execute(text("SELECT 1"))

    async def test_the_context_hands_out_no_session_after_finish(
        self, uow: UnitOfWork, settings: Settings, keyring: Keyring
    ) -> None:
        ctx = Context(request=None, response=None, uow=uow, settings=settings, keyring=keyring)
        first = await ctx.session()
        assert await ctx.session() is first
        await ctx.finish(commit=False)
        with pytest.raises(RuntimeError):
            await ctx.session()
