"""The "Your contacts and erasure" examples in docs/api.md run as written, in order."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.crypto import Keyring
from tests import factories as f
from tests.coalition.helpers import sign
from tests.conftest import GraphQLClient

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


class TestContactsSection:
    async def test_examples_run_in_order(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given
        section = DOC.read_text().split("## Your contacts and erasure", 1)[1].split("\n## ", 1)[0]
        contacts, erase, forget = re.findall(r"```graphql\n(.*?)```", section, re.DOTALL)
        org = await f.make_org(session)
        campaign = await f.make_campaign(session, org)
        page = await f.make_page(session, org, campaign)
        signed = await sign(session, keyring, page, org, email="ada@example.net", source="news")
        _, token = await f.make_token(session, org)
        # when
        read = await gql(contacts, {"campaign": campaign.name}, token=token)
        [node] = read["data"]["contacts"]["nodes"]
        erased = await gql(erase, {"campaign": campaign.name, "ref": node["ref"]}, token=token)
        forgot = await gql(forget, {"email": "ada@example.net", "campaign": campaign.name})
        # then
        assert node["email"] == "ada@example.net"
        assert node["flagged"] is False
        assert node["actions"] == [
            {
                "actionType": "signature",
                "page": page.name,
                "tracking": {"source": "news", "medium": None},
            }
        ]
        assert erased["data"]["requestErasure"] == {"contactRef": node["ref"]}
        assert "message" in forgot["data"]["requestMyErasure"]
        copy = await session.execute(
            text("SELECT length(payload) FROM contact WHERE supporter_id = :id"),
            {"id": signed.supporter.id},
        )
        assert copy.scalar_one() == 0


class TestManagingSection:
    async def test_examples_run_in_order(self, session: AsyncSession, gql: GraphQLClient) -> None:
        # given a lead with a partner
        section = DOC.read_text().split("## Managing a campaign", 1)[1].split("\n## ", 1)[0]
        blocks = re.findall(r"```graphql\n(.*?)```", section, re.DOTALL)
        lead, partner = await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, partner)
        _, token = await f.make_token(session, lead)
        variables = {"campaign": campaign.name, "partner": partner.name, "org": lead.name}
        answers = []
        for block in blocks:
            names = set(re.findall(r"\$(\w+)", block))
            # when
            body = await gql(block, {k: v for k, v in variables.items() if k in names}, token=token)
            # then
            assert "errors" not in body, (block, body)
            [answer] = body["data"].values()
            assert "errors" not in answer, (block, answer)
            answers.append(answer)
        wording, use, dates, frozen, role, settings = answers
        current = {
            (v["version"], v["locale"]) for v in use["campaign"]["consentVersions"] if v["current"]
        }
        assert current == {("v1", "en"), ("2026-12", "fr")}
        assert len(wording["campaign"]["consentVersions"]) == 3
        assert dates["campaign"]["goal"] == 50000
        assert frozen["campaign"]["countersFrozen"] is True
        assert role["partnership"]["role"] == "coordinator"
        assert settings["org"]["embedHosts"] == ["green.example"]
