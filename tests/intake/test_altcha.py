"""ALTCHA proof of work on pages that enable it: without a valid solution, flagged."""

from __future__ import annotations

import base64
import json

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.intake.altcha import solve
from tests import factories as f
from tests.conftest import GraphQLClient
from tests.intake.conftest import SIGN, Coalition, signature


async def _flags(session: AsyncSession) -> list[str | None]:
    rows = await session.execute(text("SELECT flagged FROM action ORDER BY id"))
    return [r[0] for r in rows]


class TestAltcha:
    async def test_only_a_fresh_valid_solution_counts(
        self,
        coalition: Coalition,
        client: httpx.AsyncClient,
        gql: GraphQLClient,
        session: AsyncSession,
    ) -> None:
        # given
        page = await f.make_page(
            session, coalition.partner, coalition.campaign, config={"altcha": True}
        )
        challenge = (await client.get("/altcha/challenge")).json()
        solved = solve(challenge)
        forged = json.loads(base64.b64decode(solved))
        forged["number"] += 1
        forged_header = base64.b64encode(json.dumps(forged).encode()).decode()
        # when
        for n, header in enumerate([solved, solved, forged_header, None]):
            headers = {"x-altcha": header} if header else {}
            body = await gql(SIGN, signature(page, email=f"p{n}@example.net"), headers=headers)
            assert "errors" not in body  # the same answer either way
        # then: the solution works once; forged or missing ones are flagged
        assert await _flags(session) == [None, "altcha", "altcha", "altcha"]

    async def test_pages_without_altcha_need_nothing(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        await gql(SIGN, signature(coalition.lead_page))
        assert await _flags(session) == [None]
