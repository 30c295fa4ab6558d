"""Proca's widget against /api: it signs, counts and lists recent actions with its own
documents (fixthestatusquo/proca, src/lib/server.js), and reads the public stats Proca has."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import Campaign
from tests import factories as f
from tests.proca.conftest import Coalition, Proca

# the widget's signature, as sent
ADD_ACTION_CONTACT = """
mutation addActionContact(
  $action: ActionInput!,
  $contact:ContactInput!,
  $privacy:ConsentInput!,
  $contactRef:ID,
  $actionPage:Int!,
  $tracking:TrackingInput
){
  addActionContact(
    actionPageId: $actionPage,
    action: $action,
    contactRef:$contactRef,
    contact:$contact,
    privacy:$privacy,
    tracking:$tracking
  ){contactRef,firstName}
  }
"""
# the counter (a GET, on one line as the widget sends it)
GET_COUNT = (
    "query getCount($actionPage: Int!) {actionPage(id:$actionPage) { campaign { stats { "
    "supporterCount } } }}"
)
GET_COUNT_BY_NAME = """
query getCountByName($name:String)
{actionPage(name:$name){id,campaign{name,title,
  externalId,stats{supporterCount }}}}
"""
# the recent-actions list (the widget's text declares `limit: Int`, a syntax error in any
# GraphQL server; this is the document it means)
GET_LATEST = """
query getLatest($actionPage:Int!,$actionType:String!,$limit: Int) {
  actionPage(id:$actionPage) {
    campaign {
      actions(actionType:$actionType, limit: $limit) {
        list {
          actionId,
          fields {
            key, value
          }
        }
      }
    }
  }
}
"""
PUBLIC_READS = """
query($id: Int!, $type: String!) {
  actionPage(id: $id) {
    campaign {
      id status start end externalId
      stats {
        supporterCount
        supporterCountByArea { area count }
        supporterCountByOrg { org { name title config } count }
        supporterCountByOthers(orgName: "%s")
        actionCount { actionType count }
      }
      actions(actionType: $type, limit: 1000) {
        fieldKeys
        list { actionId actionType insertedAt area customFields fields { key value } }
      }
    }
  }
}
"""


def proca_signature(
    page_id: int | None, address: str, *, country: str = "FR", **custom: Any
) -> dict[str, Any]:
    """The variables Proca's widget builds: customFields JSON.stringify'd, privacy booleans."""
    return {
        "actionPage": page_id,
        "action": {"actionType": "signature", "customFields": json.dumps(custom)},
        "contact": {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "email": address,
            "address": {"country": country, "postcode": ""},
        },
        "privacy": {"optIn": True, "leadOptIn": False},
    }


async def sign(proca: Proca, page_id: int | None, address: str, **kw: Any) -> dict[str, Any]:
    body = await proca(
        ADD_ACTION_CONTACT, proca_signature(page_id, address, **kw), operation="addActionContact"
    )
    assert "errors" not in body, body
    answer: dict[str, Any] = body["data"]["addActionContact"]
    return answer


class TestSigning:
    async def test_the_widgets_signature_is_taken(
        self, proca: Proca, coalition: Coalition, session: AsyncSession
    ) -> None:
        # when
        answer = await sign(proca, coalition.lead_page.id, "ada@example.net", comment="Yes")
        # then
        assert answer["firstName"] == "Ada"
        assert len(answer["contactRef"]) >= 16
        [row] = (await session.execute(text("SELECT custom_fields FROM action"))).all()
        assert row[0] == {"comment": "Yes"}


class TestCounter:
    async def test_get_count_and_by_name(self, proca: Proca, coalition: Coalition) -> None:
        # given
        await sign(proca, coalition.lead_page.id, "a@example.net")
        await sign(proca, coalition.lead_page.id, "b@example.net")
        # when
        counted = await proca.get(GET_COUNT, {"actionPage": coalition.lead_page.id})
        by_name = await proca(
            GET_COUNT_BY_NAME, {"name": coalition.lead_page.name}, operation="getCountByName"
        )
        # then
        assert counted == {"data": {"actionPage": {"campaign": {"stats": {"supporterCount": 2}}}}}
        assert by_name["data"]["actionPage"] == {
            "id": coalition.lead_page.id,
            "campaign": {
                "name": coalition.campaign.name,
                "title": coalition.campaign.title,
                "externalId": None,
                "stats": {"supporterCount": 2},
            },
        }

    async def test_an_unknown_page_answers_an_error_the_widget_handles(
        self, proca: Proca, coalition: Coalition
    ) -> None:
        # Proca's widget reads data.actionPage.campaign unless the answer has errors: a null
        # page made it throw; Proca's not_found error makes it show no counter
        for page_id in (987654321, coalition.partner_draft.id):
            body = await proca.get(GET_COUNT, {"actionPage": page_id})
            assert body["data"] is None
            assert body["errors"][0]["extensions"] == {"code": "not_found"}


class TestRecentActions:
    async def test_only_public_keys_of_counted_actions_and_never_contact_data(
        self, proca: Proca, coalition: Coalition, session: AsyncSession
    ) -> None:
        # given: the lead publishes comments; it also lists contact fields, which never are
        await session.execute(
            update(Campaign)
            .where(Campaign.id == coalition.campaign.id)
            .values(
                config={
                    "publicActions": [
                        "signature:comment",
                        "signature:email",
                        "signature:FirstName",
                        "share:comment",
                    ]
                }
            )
        )
        lead_page = coalition.lead_page.id
        await sign(proca, lead_page, "one@example.net", comment="First!", email="x@example.org")
        await sign(
            proca, lead_page, "two@example.net", country="DE", comment="Second", FirstName="Bo"
        )
        # not public: a testing signature, a flagged one, one waiting for its confirmation
        testing = proca_signature(lead_page, "t@example.net", comment="test")
        testing["action"]["testing"] = True
        await proca(ADD_ACTION_CONTACT, testing)
        await sign(proca, lead_page, "flag@example.net", comment="bot")
        await session.execute(
            text("UPDATE action SET flagged = 'honeypot' WHERE custom_fields->>'comment' = 'bot'")
        )
        await sign(proca, coalition.partner_page.id, "doi@example.net", comment="unconfirmed")
        # when
        latest = await proca(
            GET_LATEST,
            {"actionPage": lead_page, "actionType": "signature", "limit": 1000},
            operation="getLatest",
        )
        # then: newest first, only `comment`
        listed = latest["data"]["actionPage"]["campaign"]["actions"]["list"]
        assert [item["fields"] for item in listed] == [
            [{"key": "comment", "value": "Second"}],
            [{"key": "comment", "value": "First!"}],
        ]
        text_of_answer = json.dumps(latest)
        for personal in ("example.net", "x@example.org", "Ada", "Lovelace", "Bo"):
            assert personal not in text_of_answer

    async def test_nothing_is_public_unless_listed(
        self, proca: Proca, coalition: Coalition
    ) -> None:
        await sign(proca, coalition.lead_page.id, "c@example.net", comment="Hi")
        body = await proca(
            PUBLIC_READS % coalition.lead.name, {"id": coalition.lead_page.id, "type": "signature"}
        )
        actions = body["data"]["actionPage"]["campaign"]["actions"]
        assert actions["fieldKeys"] == []
        [item] = actions["list"]
        assert item["customFields"] == "{}"
        assert item["fields"] == []
        assert item["area"] == "FR"
        assert item["actionType"] == "signature"
        datetime.fromisoformat(item["insertedAt"])  # naive, as Proca's NaiveDateTime


class TestPublicStats:
    async def test_counts_by_area_and_org_status_and_dates(
        self, proca: Proca, coalition: Coalition, session: AsyncSession
    ) -> None:
        # given: two on the lead's page, one on the partner's, none on a draft-only org's
        await session.execute(
            update(Campaign)
            .where(Campaign.id == coalition.campaign.id)
            .values(
                starts_at=datetime(2026, 1, 5, tzinfo=UTC),
                ends_at=datetime(2036, 6, 30, tzinfo=UTC),
            )
        )
        hidden = await f.make_org(session)
        await f.make_partnership(session, coalition.campaign, hidden)
        await sign(proca, coalition.lead_page.id, "a@example.net", country="FR")
        await sign(proca, coalition.lead_page.id, "b@example.net", country="DE")
        await sign(proca, coalition.partner_page.id, "c@example.net", country="FR")
        # when
        body = await proca(
            PUBLIC_READS % coalition.lead.name, {"id": coalition.lead_page.id, "type": "share"}
        )
        # then
        campaign = body["data"]["actionPage"]["campaign"]
        stats = campaign["stats"]
        assert campaign["status"] == "LIVE"
        assert (campaign["start"], campaign["end"]) == ("2026-01-05", "2036-06-30")
        assert campaign["externalId"] is None
        assert stats["supporterCountByArea"] == [
            {"area": "FR", "count": stats["supporterCountByArea"][0]["count"]},
            *stats["supporterCountByArea"][1:],
        ]
        assert {a["area"] for a in stats["supporterCountByArea"]} <= {"FR", "DE"}
        by_org = {o["org"]["name"]: o["count"] for o in stats["supporterCountByOrg"]}
        assert by_org[coalition.lead.name] == 2
        assert hidden.name not in by_org
        assert sum(by_org.values()) == stats["supporterCount"]
        assert stats["supporterCountByOthers"] == stats["supporterCount"] - 2
        assert campaign["actions"]["list"] == []
