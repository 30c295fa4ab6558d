"""The widget's fast path answers exactly what strawberry answers, and writes the same rows."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.fast_intake import widget_documents
from orgs.models import PageStatus
from tests import factories as f
from tests.intake.conftest import Coalition, counts

DOCS = widget_documents()
SIGN, ACT = DOCS["M_SIGN"], DOCS["M_ACT"]


def _slow(document: str) -> str:
    """The same operation as another string: strawberry handles it, not the fast path."""
    return document + " "


async def _post(
    client: httpx.AsyncClient, session: AsyncSession, query: str, variables: dict[str, Any]
) -> tuple[int, Any]:
    await session.flush()
    # json.dumps escapes a lone surrogate as a browser does (httpx's json= cannot encode it)
    response = await client.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}),
        headers={"content-type": "application/json"},
    )
    return response.status_code, response.json()


def _variables(page_id: int | None, email: str, **overrides: Any) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "p": page_id,
        "a": {"actionType": "signature", "customFields": {"comment": "hi"}},
        "c": {"firstName": "Ana", "email": email, "address": {"country": "FR"}},
        "v": {"optIn": True, "leadOptIn": None, "consentVersion": "v1"},
        "t": {"source": "newsletter", "medium": "email"},
    }
    variables.update(overrides)
    return variables


def _without_refs(body: Any) -> Any:
    body = copy.deepcopy(body)
    data = (body.get("data") or {}).get("addActionContact")
    if data:
        data["contactRef"] = "REF" if data["contactRef"] else None
        data["referralCode"] = "CODE" if data["referralCode"] else None
    return body


def test_the_widget_documents_are_found() -> None:
    assert SIGN.startswith("mutation(")
    assert "addActionContact" in SIGN
    assert "addAction(" in ACT


class TestParity:
    @pytest.mark.parametrize(
        "overrides",
        [
            {},
            {"c": {"email": "nope", "phone": "12"}},
            {"a": {"actionType": "1bad", "customFields": "{oops"}},
            {"v": {"consentVersion": "v9"}},
            {"t": {"referralCode": "!"}},
            {"c": {"firstName": "A\x00na", "email": "nul@example.net"}},
            {
                "a": {"actionType": "signature", "customFields": {"comment": "\ud800"}},
                "t": {"source": "news\x07letter"},
            },
        ],
        ids=[
            "valid",
            "bad-contact",
            "bad-action",
            "unknown-wording",
            "bad-referral",
            "refused-text",
            "refused-surrogate-and-control",
        ],
    )
    async def test_same_answers_as_strawberry(
        self,
        overrides: dict[str, Any],
        coalition: Coalition,
        client: httpx.AsyncClient,
        session: AsyncSession,
    ) -> None:
        # given
        page = coalition.partner_page.id
        # when
        fast = await _post(client, session, SIGN, _variables(page, "f@example.net", **overrides))
        slow = await _post(
            client, session, _slow(SIGN), _variables(page, "s@example.net", **overrides)
        )
        # then
        assert fast[0] == slow[0] == 200
        assert _without_refs(fast[1]) == _without_refs(slow[1])

    async def test_a_closed_page_answers_the_same(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given
        page = await f.make_page(
            session, coalition.lead, coalition.campaign, status=PageStatus.CLOSED
        )
        # when
        fast = await _post(client, session, SIGN, _variables(page.id, "a@example.net"))
        slow = await _post(client, session, _slow(SIGN), _variables(page.id, "a@example.net"))
        # then
        assert fast == slow
        assert fast[1]["errors"][0]["extensions"]["code"] == "PAGE_CLOSED"

    async def test_refused_text_answers_the_same_and_writes_nothing(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given
        before = await counts(session)
        variables = _variables(
            coalition.partner_page.id,
            "a@example.net",
            c={"firstName": "\ud800", "email": "a@e.net"},
        )
        # when
        fast = await _post(client, session, SIGN, variables)
        slow = await _post(client, session, _slow(SIGN), variables)
        # then
        assert fast == slow
        [error] = fast[1]["errors"]
        assert error["path"] == ["addActionContact", "contact", "firstName"]
        assert error["extensions"] == {"code": "INVALID_TEXT"}
        assert await counts(session) == before

    async def test_the_same_rows_are_written(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given
        page = coalition.partner_page.id
        # when
        await _post(client, session, SIGN, _variables(page, "fast@example.net"))
        await _post(client, session, _slow(SIGN), _variables(page, "slow@example.net"))
        # then
        rows = await session.execute(
            text(
                "SELECT a.action_type, a.custom_fields, a.source, a.medium, "
                "(SELECT array_agg(org_id || ':' || given ORDER BY org_id) FROM consent k "
                " WHERE k.supporter_id = a.supporter_id) AS consents, "
                "(SELECT array_agg(org_id || ':' || scope ORDER BY org_id) FROM contact c "
                " WHERE c.supporter_id = a.supporter_id) AS contacts "
                "FROM action a ORDER BY a.id"
            )
        )
        fast_row, slow_row = [tuple(r) for r in rows]
        assert fast_row == slow_row

    async def test_a_share_follow_up(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given
        page = coalition.partner_page.id
        _, signed = await _post(client, session, SIGN, _variables(page, "x@example.net"))
        ref = signed["data"]["addActionContact"]["contactRef"]
        share = {"p": page, "a": {"actionType": "share", "customFields": {"medium": "x"}}, "r": ref}
        # when
        fast = await _post(client, session, ACT, {**share, "t": None})
        slow = await _post(client, session, _slow(ACT), {**share, "t": {"medium": "y"}})
        # then
        assert fast == slow == (200, {"data": {"addAction": {"contactRef": ref}}})


class TestFallback:
    async def test_unexpected_variable_types_get_strawberrys_errors(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given: a page id sent as a string, which GraphQL's Int refuses
        variables = _variables(None, "a@example.net", p=str(coalition.lead_page.id))
        # when
        status, body = await _post(client, session, SIGN, variables)
        # then
        assert status == 200
        assert "Int cannot represent" in body["errors"][0]["message"]

    async def test_requests_with_credentials_go_to_strawberry(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # when: a bad token on the public mutation is still reported as such
        await session.flush()
        response = await client.post(
            "/graphql",
            json={"query": SIGN, "variables": _variables(coalition.lead_page.id, "t@e.net")},
            headers={"authorization": "Bearer chub_at_000000000000_nope"},
        )
        # then: strawberry served it (the fast path never looks at credentials)
        assert response.status_code == 200
        assert response.json()["data"]["addActionContact"]["contactRef"]
