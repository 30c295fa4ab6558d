"""Proca's CLI (``proca widget pull`` / ``push``) replayed against /api, documents as it sends
them (fixthestatusquo/proca, bin/widget.js): its pull query and getConfig's reading of the
answer (every ``config`` JSON.parse'd), its push mutation with config JSON.stringify'd."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import ActionPage
from tests import factories as f
from tests.conftest import GraphQLClient
from tests.proca.conftest import HUB_CONFIG, PROCA_CONFIG, Coalition, Proca

# the CLI's pull document, as sent (whitespace aside)
PULL = """
query actionPage ($id:Int!) {
  actionPage (id:$id) {
    id, name, locale,
    thankYouTemplate,
    ... on PrivateActionPage { supporterConfirmTemplate, location, extraSupporters },
    campaign {
      id,
      title,name,config,
      org {name,title}
    },
    org {
      title,
      name,
      config,
      ... on PrivateOrg { processing { supporterConfirm, supporterConfirmTemplate }}
    }
    , config
  }
}
"""
# the same by name (the CLI's fetchByName)
PULL_BY_NAME = PULL.replace("($id:Int!)", "($name:String!)").replace("(id:$id)", "(name:$name)")
# the CLI's push document
PUSH = """
mutation updateActionPage($id: Int!, $name:String!,$locale:String,$config: Json!) {
  updateActionPage(id: $id, input: {name:$name, locale:$locale,config:$config}) {
    id,name,locale
  }
}
"""
HUB_PAGE = "query($id: Int) { actionPage(id: $id) { id locale config } }"


def get_config(page: dict[str, Any]) -> dict[str, Any]:
    """What the CLI's getConfig does with the answer: JSON.parse of every config."""
    return {
        "page": json.loads(page["config"]),
        "org": json.loads(page["org"]["config"]),
        "campaign": json.loads(page["campaign"]["config"]),
    }


async def page_row(session: AsyncSession, page_id: int | None) -> ActionPage:
    session.expire_all()
    found = (await session.execute(select(ActionPage).where(ActionPage.id == page_id))).scalar()
    assert found is not None
    return found


class TestPull:
    async def test_the_owner_gets_the_private_view_with_json_strings(
        self, proca: Proca, coalition: Coalition
    ) -> None:
        # when
        body = await proca(
            PULL,
            {"id": coalition.partner_page.id},
            operation="actionPage",
            token=coalition.partner_token,
        )
        # then
        assert "errors" not in body, body
        page = body["data"]["actionPage"]
        assert page == {
            "id": coalition.partner_page.id,
            "name": coalition.partner_page.name,
            "locale": "fr",
            "thankYouTemplate": "thank_you",
            "supporterConfirmTemplate": "confirmation",  # the org's double opt-in
            "location": None,
            "extraSupporters": 0,
            "campaign": {
                "id": coalition.campaign.id,
                "title": coalition.campaign.title,
                "name": coalition.campaign.name,
                "config": page["campaign"]["config"],
                "org": {"name": coalition.lead.name, "title": coalition.lead.title},
            },
            "org": {
                "title": coalition.partner.title,
                "name": coalition.partner.name,
                "config": page["org"]["config"],
                "processing": {
                    "supporterConfirm": True,
                    "supporterConfirmTemplate": "confirmation",
                },
            },
            "config": page["config"],
        }
        assert get_config(page) == {
            "page": PROCA_CONFIG,
            "org": {"privacy": {"policyUrl": "https://partner.example.org/privacy"}},
            "campaign": {"lang": "fr"},
        }

    async def test_by_name_and_for_a_draft_page_of_ones_own(
        self, proca: Proca, coalition: Coalition
    ) -> None:
        body = await proca(
            PULL_BY_NAME,
            {"name": coalition.partner_draft.name},
            operation="actionPage",
            token=coalition.partner_token,
        )
        assert body["data"]["actionPage"]["id"] == coalition.partner_draft.id
        assert json.loads(body["data"]["actionPage"]["config"]) == {}

    async def test_another_org_gets_the_public_view_only(
        self, proca: Proca, coalition: Coalition
    ) -> None:
        for token in (coalition.outsider_token, None):
            # when
            body = await proca(PULL, {"id": coalition.partner_page.id}, token=token)
            # then: no private fields, no processing settings, the public org config only
            page = body["data"]["actionPage"]
            assert set(page) == {"id", "name", "locale", "thankYouTemplate", "campaign", "org"} | {
                "config"
            }
            assert set(page["org"]) == {"title", "name", "config"}
            assert json.loads(page["org"]["config"]) == {
                "privacy": {"policyUrl": "https://partner.example.org/privacy"}
            }

    async def test_an_unknown_or_private_page_is_not_found_as_proca_answers(
        self, proca: Proca, coalition: Coalition
    ) -> None:
        for page_id, token in (
            (987654321, coalition.partner_token),
            (coalition.partner_draft.id, coalition.outsider_token),
            (coalition.partner_draft.id, None),
        ):
            # when
            body = await proca(PULL, {"id": page_id}, operation="actionPage", token=token)
            # then: data null (actionPage is non-null), Proca's error
            assert body["data"] is None
            [error] = body["errors"]
            assert error["message"] == "Entity not found"
            assert error["path"] == ["actionPage"]
            assert error["extensions"] == {"code": "not_found"}

    async def test_exactly_one_identifier(self, proca: Proca, coalition: Coalition) -> None:
        body = await proca("{ actionPage { id } }")
        assert body["errors"][0]["extensions"] == {"code": "bad_arg"}

    async def test_the_hubs_own_api_is_unchanged(
        self, gql: GraphQLClient, coalition: Coalition
    ) -> None:
        # /graphql: config an object, an unknown page null (the hub's widget relies on both)
        body = await gql(HUB_PAGE, {"id": coalition.partner_page.id})
        assert body["data"]["actionPage"]["config"] == {**HUB_CONFIG, "proca": PROCA_CONFIG}
        assert await gql(HUB_PAGE, {"id": 987654321}) == {"data": {"actionPage": None}}


class TestPush:
    async def test_the_owner_saves_the_proca_config_and_the_hub_widgets_stays(
        self, proca: Proca, coalition: Coalition, session: AsyncSession
    ) -> None:
        # given what the CLI rebuilds from its local file
        pushed = {"journey": ["Petition"], "layout": {"primaryColor": "#000000"}, "test": True}
        variables = {
            "id": coalition.partner_page.id,
            "name": coalition.partner_page.name,
            "locale": "de",
            "config": json.dumps(pushed),
        }
        # when
        body = await proca(
            PUSH, variables, operation="updateActionPage", token=coalition.partner_token
        )
        # then
        assert body == {
            "data": {
                "updateActionPage": {
                    "id": coalition.partner_page.id,
                    "name": coalition.partner_page.name,
                    "locale": "de",
                }
            }
        }
        row = await page_row(session, coalition.partner_page.id)
        assert row.config == {**HUB_CONFIG, "proca": pushed}
        assert row.locale == "de"
        pulled = await proca(PULL, {"id": coalition.partner_page.id}, token=coalition.partner_token)
        assert json.loads(pulled["data"]["actionPage"]["config"]) == pushed

    async def test_another_org_cannot_push_and_nothing_changes(
        self, proca: Proca, coalition: Coalition, session: AsyncSession
    ) -> None:
        before = dict((await page_row(session, coalition.partner_page.id)).config)
        variables = {
            "id": coalition.partner_page.id,
            "name": coalition.partner_page.name,
            "config": json.dumps({"journey": ["Hijacked"]}),
        }
        for token, code in (
            (coalition.outsider_token, "not_found"),
            (None, "unauthorized"),
        ):
            body = await proca(PUSH, variables, token=token)
            assert body["data"] is None
            assert [e["extensions"]["code"] for e in body["errors"]] == [code]
        assert (await page_row(session, coalition.partner_page.id)).config == before

    async def test_a_token_without_pages_write_is_refused(
        self, proca: Proca, coalition: Coalition, session: AsyncSession
    ) -> None:
        _, token = await f.make_token(session, coalition.partner, ["contacts:read"])
        variables = {
            "id": coalition.partner_page.id,
            "name": coalition.partner_page.name,
            "config": "{}",
        }
        body = await proca(PUSH, variables, token=token)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["permission_denied"]

    async def test_what_the_hub_does_not_keep_must_come_back_unchanged(
        self, proca: Proca, coalition: Coalition
    ) -> None:
        mutation = """
        mutation($id: Int!, $input: ActionPageInput!) {
          updateActionPage(id: $id, input: $input) { id }
        }"""
        page = coalition.partner_page.id
        token = coalition.partner_token
        # unchanged values round-trip
        same = {"extraSupporters": 0, "thankYouTemplate": "thank_you", "config": "{}"}
        ok = await proca(mutation, {"id": page, "input": same}, token=token)
        assert ok == {"data": {"updateActionPage": {"id": page}}}
        # changes to what the hub does not keep are refused, naming them
        for change in ({"extraSupporters": 100}, {"delivery": True}, {"name": "org/renamed"}):
            body = await proca(mutation, {"id": page, "input": change}, token=token)
            assert [e["extensions"]["code"] for e in body["errors"]] == ["bad_arg"], change

    async def test_a_config_that_is_not_a_json_object_is_refused(
        self, proca: Proca, coalition: Coalition, session: AsyncSession
    ) -> None:
        before = dict((await page_row(session, coalition.partner_page.id)).config)
        deep = "[" * 100 + "]" * 100
        for config in ("not json", "[1, 2]", '"a string"', '{"a": ' + deep + "}", "1e999999"):
            variables = {
                "id": coalition.partner_page.id,
                "name": coalition.partner_page.name,
                "config": config,
            }
            body = await proca(PUSH, variables, token=coalition.partner_token)
            assert body.get("data") is None, config
            assert "Unexpected error" not in json.dumps(body)
        assert (await page_row(session, coalition.partner_page.id)).config == before

    async def test_an_invalid_locale_is_reported_in_procas_shape(
        self, proca: Proca, coalition: Coalition
    ) -> None:
        variables = {
            "id": coalition.partner_page.id,
            "name": coalition.partner_page.name,
            "locale": "not a locale",
            "config": "{}",
        }
        body = await proca(PUSH, variables, token=coalition.partner_token)
        [error] = body["errors"]
        assert error["extensions"] == {"code": "bad_arg"}
        assert error["message"].startswith("locale: ")
        assert error["path"][-1] == "locale"
