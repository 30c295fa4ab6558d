"""The "Mail to target" examples in docs/api.md run as written, in order."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from tests import factories as f
from tests.conftest import GraphQLClient
from tests.targets.conftest import messages

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


class TestMailToTargetSection:
    async def test_examples_run_in_order(self, session: AsyncSession, gql: GraphQLClient) -> None:
        # given a lead with a mail-to-target page and no targets yet
        section = DOC.read_text().split("## Mail to target", 1)[1].split("\n## ", 1)[0]
        targets, sending, step, sign, written, details = re.findall(
            r"```graphql\n(.*?)```", section, re.DOTALL
        )
        [variables] = re.findall(r"```json\n(.*?)```", section, re.DOTALL)
        lead = await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        page = await f.make_page(session, lead, campaign, config={"actionType": "mail2target"})
        _, token = await f.make_token(session, lead)
        managed = {"campaign": campaign.name}
        # when
        made = await gql(targets, managed, token=token)
        set_up = await gql(sending, managed, token=token)
        read = await gql(step, {"id": page.id, "postcode": "751 23"})
        sent_as = json.loads(variables)
        sent_as["actionPage"] = page.id
        signed = await gql(sign, sent_as)
        counted = await gql(written, {"id": page.id})
        detailed = await gql(details, managed, token=token)
        hidden = await gql(details, managed)
        # then
        assert [t["externalId"] for t in made["data"]["upsertTargets"]["targets"]] == [
            "board",
            "mayor",
        ]
        assert set_up["data"]["updateMailToTarget"]["settings"] == {
            "selection": "POSTCODE",
            "window": {"dailyStart": "09:00", "hourlyCap": 20},
        }
        campaign_read = read["data"]["actionPage"]["campaign"]
        assert campaign_read["mailToTarget"]["subject"] == "Save the river, {target}"
        assert [t["id"] for t in campaign_read["targets"]] == ["board"]
        assert "@" not in json.dumps(read)
        assert signed["data"]["addActionContact"]["firstName"] == "Ada"
        assert [(m["target"], m["status"]) for m in await messages(session)] == [
            ("board", "pending")
        ]
        stats = counted["data"]["actionPage"]["campaign"]["targetStats"]
        assert stats == {
            "sent": 0,
            "queued": 1,
            "byTarget": [{"id": "board", "queued": 1}],
            "byArea": [{"area": "Riverside", "queued": 1}],
        }
        zero = {"sent": 0, "held": 0, "heldForModeration": 0, "failed": 0, "cancelled": 0}
        assert detailed["data"]["campaignTargetAreas"] == [
            {"area": "Riverside", "targets": 2, "messages": {**zero, "queued": 1}}
        ]
        assert hidden["data"] == {"campaignTargetAreas": None}  # anonymous: refused
        assert hidden["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
