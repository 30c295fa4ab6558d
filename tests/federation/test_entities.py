"""``_entities``: the public page entity, and what a hostile caller may send (schema/federation.py).

Members' entities (Org, Campaign, OrgActionPage) resolve only in the caller's scope:
tests/foundation/test_federation.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import CampaignStatus, PageStatus, utcnow
from schema.federation import MAX_REPRESENTATIONS
from schema.schema import schema
from tests.conftest import GraphQLClient
from tests.factories import make_campaign, make_org, make_page, make_token

PAGES = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) { ... on ActionPage { id name status org { name } } }
}
"""
ANY = "query($reps: [_Any!]!) { _entities(representations: $reps) { __typename } }"

#: What the public page entity shows: a new field here is public to every supergraph.
PUBLIC_PAGE_FIELDS = {
    "id",
    "name",
    "locale",
    "status",
    "config",
    "doubleOptIn",
    "org",
    "campaign",
    "stats",
}


def page_rep(page_id: Any) -> dict[str, Any]:
    return {"__typename": "ActionPage", "id": page_id}


class TestPublicPageEntity:
    def test_the_entity_has_only_the_public_fields(self) -> None:
        fields = set(schema._schema.type_map["ActionPage"].fields)  # type: ignore[union-attr]
        assert fields == PUBLIC_PAGE_FIELDS

    async def test_anyone_resolves_live_and_closed_pages_and_nothing_else(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        org = await make_org(session)
        live_campaign = await make_campaign(session, org)
        draft_campaign = await make_campaign(session, org, status=CampaignStatus.DRAFT.value)
        later = await make_campaign(session, org, starts_at=utcnow() + timedelta(days=3))
        live = await make_page(session, org, live_campaign)
        closed = await make_page(session, org, live_campaign, status=PageStatus.CLOSED)
        hidden = [
            await make_page(session, org, live_campaign, status=PageStatus.DRAFT),
            await make_page(session, org, live_campaign, status=PageStatus.PAUSED),
            await make_page(session, org, live_campaign, status=PageStatus.LAUNCH_REQUESTED),
            await make_page(session, org, draft_campaign),
            await make_page(session, org, later),
        ]
        reps = [page_rep(p.id) for p in (live, closed, *hidden)] + [page_rep(987654321)]
        # when: anonymous, and as the pages' own org
        _, token = await make_token(session, org)
        for caller in (None, token):
            body = await gql(PAGES, {"reps": reps}, token=caller)
            # then: the public view only; the member's own drafts are not public entities
            assert "errors" not in body
            assert body["data"]["_entities"] == [
                {"id": live.id, "name": live.name, "status": "LIVE", "org": {"name": org.name}},
                {
                    "id": closed.id,
                    "name": closed.name,
                    "status": "CLOSED",
                    "org": {"name": org.name},
                },
                *([None] * (len(hidden) + 1)),
            ]

    async def test_an_id_may_come_as_a_string(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        org = await make_org(session)
        page = await make_page(session, org, await make_campaign(session, org))
        body = await gql(PAGES, {"reps": [page_rep(str(page.id))]})
        assert body["data"]["_entities"][0]["id"] == page.id


HOSTILE = {
    "not an object": 1,
    "a string": "ActionPage:1",
    "a list": [{"__typename": "ActionPage", "id": 1}],
    "no typename": {"id": 1},
    "an unknown type": {"__typename": "Nope", "id": 1},
    "a type that is no entity": {"__typename": "Contact", "email": "a@example.org"},
    "the query type": {"__typename": "Query"},
    "a public type without key": {"__typename": "PublicCampaign", "id": 1},
    "an extra key": {"__typename": "ActionPage", "id": 1, "name": "x"},
    "no key": {"__typename": "ActionPage"},
    "a key of the wrong type": {"__typename": "ActionPage", "id": "1 OR 1=1"},
    "a boolean key": {"__typename": "ActionPage", "id": True},
    "a float key": {"__typename": "ActionPage", "id": 1.5},
    "an object key": {"__typename": "Org", "name": {"$ne": ""}},
    "an id beyond bigint": {"__typename": "Campaign", "id": 2**70},
    "a long name": {"__typename": "Org", "name": "x" * 5000},
    "an empty name": {"__typename": "Org", "name": ""},
}


class TestHostileRepresentations:
    @pytest.mark.parametrize("representation", HOSTILE.values(), ids=HOSTILE.keys())
    async def test_is_refused_as_the_callers_mistake(
        self, representation: Any, gql: GraphQLClient
    ) -> None:
        # when
        body = await gql(ANY, {"reps": [page_rep(1), representation]})
        # then: one error naming the bad representation, nothing resolved, no masked bug
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["message"].startswith("representations[1]")
        assert "Unexpected error" not in error["message"]

    async def test_a_flood_of_representations_is_refused_before_any_query(
        self, gql: GraphQLClient
    ) -> None:
        body = await gql(ANY, {"reps": [page_rep(i) for i in range(MAX_REPRESENTATIONS + 1)]})
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
