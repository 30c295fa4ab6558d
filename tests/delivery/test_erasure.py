"""Erasure: an org erases only its own copy; every copy goes only at the person's own request.

An org's ``requestErasure`` purges its copy and tells its own tools; the person's
``requestMyErasure`` mails a signed link, and following it tells every org holding a copy
and purges each copy (issue 10, finding 4).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.app import create_app
from hub.db import Database
from orgs.contacts.erasure import erase_everywhere
from orgs.crypto import Keyring
from tests import factories as f
from tests.coalition.helpers import contact_ref_of, sign
from tests.conftest import GraphQLClient
from tests.delivery.conftest import Sink, World
from tests.delivery.receiver import Receiver, payload_of
from tests.delivery.test_pipeline import until
from workers.runtime import DeliveryRuntime

ERASE = """
mutation($campaign: String!, $ref: String!) {
  requestErasure(input: {campaign: $campaign, contactRef: $ref}) {
    __typename
    ... on RequestErasureErrors { errors { code } }
  }
}
"""
MY_ERASURE = """
mutation($email: String!, $campaign: String!) {
  requestMyErasure(input: {email: $email, campaign: $campaign}) {
    __typename
    ... on RequestMyErasureSuccess { message }
    ... on RequestMyErasureErrors { errors { field code } }
  }
}
"""


async def _copies(session: AsyncSession, supporter_id: int | None) -> dict[int, int]:
    """org id -> length of its stored copy (0: purged)."""
    result = await session.execute(
        text("SELECT org_id, length(payload) FROM contact WHERE supporter_id = :id"),
        {"id": supporter_id},
    )
    return {int(org): int(n) for org, n in result.all()}


class TestRequestErasure:
    async def test_an_org_erases_its_own_copy_and_nothing_else(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given: a partner's signer who also opted in to the lead; an outsider partner
        lead, partner, other = [await f.make_org(session) for _ in range(3)]
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, partner)
        await f.make_partnership(session, campaign, other)
        page = await f.make_page(session, partner, campaign)
        signed = await sign(session, keyring, page, partner, lead=lead, lead_opt_in=True)
        lead_ref = await contact_ref_of(session, signed.supporter, lead)
        _, lead_token = await f.make_token(session, lead, ["contacts:read"])
        _, other_token = await f.make_token(session, other, ["contacts:read"])
        variables = {"campaign": campaign.name, "ref": lead_ref}
        # when
        denied = await gql(ERASE, variables, token=other_token)
        done = await gql(ERASE, variables, token=lead_token)
        # then: the lead's copy is gone (it has no tool to tell), the partner's stays
        assert denied["data"]["requestErasure"]["errors"] == [{"code": "NOT_FOUND"}]
        assert done["data"]["requestErasure"]["__typename"] == "RequestErasureSuccess"
        copies = await _copies(session, signed.supporter.id)
        assert copies[lead.id or 0] == 0
        assert copies[partner.id or 0] > 0
        erased = await session.execute(
            text("SELECT erased_at FROM supporter WHERE id = :id"), {"id": signed.supporter.id}
        )
        assert erased.scalar_one() is None

    async def test_the_delivery_org_cannot_erase_a_partners_signer(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given: the delivery org holds only delivery fields of a signer of partner A
        lead, a, delivery = [await f.make_org(session) for _ in range(3)]
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, a)
        await f.make_partnership(session, campaign, delivery)
        page = await f.make_page(session, a, campaign)
        signed = await sign(
            session, keyring, page, a, lead=lead, lead_opt_in=True, delivery=delivery
        )
        ref = await contact_ref_of(session, signed.supporter, delivery)
        _, token = await f.make_token(session, delivery, ["contacts:read"])
        # when
        body = await gql(ERASE, {"campaign": campaign.name, "ref": ref}, token=token)
        # then: only its own delivery copy went; the lead's and A's are untouched
        assert body["data"]["requestErasure"]["__typename"] == "RequestErasureSuccess"
        copies = await _copies(session, signed.supporter.id)
        assert copies[delivery.id or 0] == 0
        assert copies[a.id or 0] > 0
        assert copies[lead.id or 0] > 0

    async def test_another_orgs_reference_is_not_found(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given: two partners both hold the person (the same email on each page)
        lead, a, b = [await f.make_org(session) for _ in range(3)]
        campaign = await f.make_campaign(session, lead)
        for org in (a, b):
            await f.make_partnership(session, campaign, org)
        page_a = await f.make_page(session, a, campaign)
        page_b = await f.make_page(session, b, campaign)
        signed = await sign(session, keyring, page_a, a, email="both@example.net")
        await sign(session, keyring, page_b, b, email="both@example.net")
        a_ref = await contact_ref_of(session, signed.supporter, a)
        _, b_token = await f.make_token(session, b, ["contacts:read"])
        # when: B presents A's reference
        body = await gql(ERASE, {"campaign": campaign.name, "ref": a_ref}, token=b_token)
        # then
        assert body["data"]["requestErasure"]["errors"] == [{"code": "NOT_FOUND"}]
        assert all(n > 0 for n in (await _copies(session, signed.supporter.id)).values())


class TestErasureDelivery:
    async def test_the_tool_is_told_then_the_copy_is_purged(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given: a signature already delivered to the org's webhook
        await world.sign(email="gone@example.net")
        runtime = DeliveryRuntime(world.settings(tmp_path), world.database_url)
        runtime.start()
        try:
            await until(lambda: _count(receiver, 1))
            async with world.engine.begin() as conn:
                supporter = (await conn.execute(text("SELECT id FROM supporter"))).scalar_one()
                await erase_everywhere(conn, supporter)
            # when the erasure event is delivered
            await until(lambda: _count(receiver, 2))
            await asyncio.sleep(0.2)
        finally:
            runtime.stop()
        # then the webhook could still identify the person, and the hub has forgotten them
        erasure = payload_of(receiver.requests[-1])
        assert erasure["event"] == "erasure_requested"
        assert erasure["contact"]["email"] == "gone@example.net"
        async with world.engine.connect() as conn:
            left = await conn.execute(text("SELECT length(payload) FROM contact"))
            assert left.scalar_one() == 0


class TestMyErasure:
    async def test_the_link_mailed_to_the_person_erases_every_copy(
        self, world: World, receiver: Receiver, smtp: tuple[Sink, str], tmp_path: Path
    ) -> None:
        # given: a signature delivered to the org's webhook
        sink, smtp_url = smtp
        await world.sign(email="me@example.net")
        settings = world.settings(tmp_path, smtp_url=smtp_url)
        runtime = DeliveryRuntime(settings, world.database_url)
        app = create_app(settings, Database(url=world.database_url))
        transport = httpx.ASGITransport(app=app)
        runtime.start()
        try:
            await until(lambda: _count(receiver, 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as web:
                campaign = await _campaign_name(world)
                # when the person asks, and someone asks for an address nobody signed with
                mine = await _graphql(web, MY_ERASURE, email="ME@example.net", campaign=campaign)
                theirs = await _graphql(
                    web, MY_ERASURE, email="nobody@example.net", campaign=campaign
                )
                await until(lambda: _has(sink.messages))
                [mail] = sink.messages
                body = _plain(mail)
                link = re.search(r"http://hub\.test(/erase/\S+)", body)
                assert link is not None
                asked = await web.get(link.group(1))
                # nothing is erased by a mail scanner's GET
                assert await _purged(world) is False
                done = await web.post(link.group(1))
            await until(lambda: _count(receiver, 2))
            await asyncio.sleep(0.2)
        finally:
            runtime.stop()
        # then: the same answer for both; one mail, to the person; every copy gone
        answer = mine["data"]["requestMyErasure"]
        assert answer == theirs["data"]["requestMyErasure"]
        assert answer["__typename"] == "RequestMyErasureSuccess"
        assert mail["To"].endswith("<me@example.net>")
        assert "<form" in asked.text
        assert "being deleted" in done.text
        assert payload_of(receiver.requests[-1])["event"] == "erasure_requested"
        assert await _purged(world) is True

    async def test_a_malformed_address_is_a_field_error(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        body = await gql(MY_ERASURE, {"email": "not an address", "campaign": "x"})
        assert body["data"]["requestMyErasure"]["errors"] == [
            {"field": ["input", "email"], "code": "INVALID"}
        ]


async def _campaign_name(world: World) -> str:
    async with world.engine.connect() as conn:
        return str((await conn.execute(text("SELECT name FROM campaign"))).scalar_one())


async def _purged(world: World) -> bool:
    async with world.engine.connect() as conn:
        sizes = (await conn.execute(text("SELECT length(payload) FROM contact"))).scalars()
        return all(n == 0 for n in sizes)


async def _graphql(web: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await web.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _plain(message: Any) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no text part")


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.requests) >= n


async def _has(items: list[Any], n: int = 1) -> bool:
    return len(items) >= n
