"""Erasure on request: every org holding a copy is told, then every copy is purged."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests import factories as f
from tests.conftest import GraphQLClient
from tests.delivery.conftest import World
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


class TestRequestErasure:
    async def test_only_an_org_holding_the_supporter_can_ask(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given: a supporter of the lead's page; a partner that never received them
        from orgs.crypto import Keyring
        from tests.coalition.helpers import sign
        from tests.conftest import TEST_SECRET

        lead, partner = await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, partner)
        page = await f.make_page(session, lead, campaign)
        signed = await sign(session, Keyring(TEST_SECRET), page, lead)
        _, lead_token = await f.make_token(session, lead, ["contacts:read"])
        _, partner_token = await f.make_token(session, partner, ["contacts:read"])
        variables = {"campaign": campaign.name, "ref": signed.supporter.ref}
        # when
        denied = await gql(ERASE, variables, token=partner_token)
        done = await gql(ERASE, variables, token=lead_token)
        # then
        assert denied["data"]["requestErasure"]["errors"] == [{"code": "NOT_FOUND"}]
        assert done["data"]["requestErasure"]["__typename"] == "RequestErasureSuccess"
        erased = await session.execute(
            text("SELECT erased_at IS NOT NULL FROM supporter WHERE id = :id"),
            {"id": signed.supporter.id},
        )
        assert erased.scalar_one() is True
        # the lead has no connector: its copy is purged at once
        copy = await session.execute(
            text("SELECT length(payload) FROM contact WHERE supporter_id = :id"),
            {"id": signed.supporter.id},
        )
        assert copy.scalar_one() == 0


class TestErasureDelivery:
    async def test_the_tool_is_told_then_the_copy_is_purged(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given: a signature already delivered to the org's webhook
        from orgs.intake.confirmation import erase

        await world.sign(email="gone@example.net")
        runtime = DeliveryRuntime(world.settings(tmp_path), world.database_url)
        runtime.start()
        try:
            await until(lambda: _count(receiver, 1))
            async with world.engine.begin() as conn:
                supporter = (await conn.execute(text("SELECT id FROM supporter"))).scalar_one()
                await erase(conn, supporter)
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


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.requests) >= n
