"""The public intake's text gate: NUL, lone surrogates and controls refused, the rest in NFC."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.crypto import Keyring
from tests.intake.conftest import FOLLOW_UP, SIGN, Coalition, counts, signature

LINK = """
mutation Link($page: Int!, $ref: ID!, $refs: [String!]!) {
  linkActions(actionPageId: $page, contactRef: $ref, linkRefs: $refs) { contactRef }
}
"""

NUL, SURROGATE, BELL, NEXT_LINE = "\x00", "\ud800", "\x07", "\x85"


async def post(
    client: httpx.AsyncClient, session: AsyncSession, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """POST as a browser does: ``json.dumps`` escapes a lone surrogate as ``\\ud800``.

    (httpx's ``json=`` would try to encode it as UTF-8 and fail before sending.)
    """
    await session.flush()
    response = await client.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _contact(**fields: Any) -> dict[str, Any]:
    contact: dict[str, Any] = {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": "ada@example.net",
        "address": {"country": "FR", "postcode": "75001"},
    }
    contact.update(fields)
    return contact


REFUSED: list[tuple[str, dict[str, Any], list[str]]] = [
    ("first-surrogate", {"contact": _contact(firstName=SURROGATE)}, ["contact", "firstName"]),
    ("first-nul", {"contact": _contact(firstName=f"A{NUL}da")}, ["contact", "firstName"]),
    ("first-bell", {"contact": _contact(firstName=f"A{BELL}da")}, ["contact", "firstName"]),
    ("first-tab", {"contact": _contact(firstName="A\tda")}, ["contact", "firstName"]),
    ("first-c1", {"contact": _contact(firstName=f"A{NEXT_LINE}da")}, ["contact", "firstName"]),
    ("last-nul", {"contact": _contact(lastName=f"Love{NUL}")}, ["contact", "lastName"]),
    ("last-surrogate", {"contact": _contact(lastName=SURROGATE)}, ["contact", "lastName"]),
    ("email-nul", {"contact": _contact(email=f"ada{NUL}@example.net")}, ["contact", "email"]),
    (
        "email-surrogate",
        {"contact": _contact(email=f"{SURROGATE}@example.net")},
        ["contact", "email"],
    ),
    (
        "postcode-nul",
        {"contact": _contact(address={"country": "FR", "postcode": f"750{NUL}01"})},
        ["contact", "address", "postcode"],
    ),
    (
        "source-nul",
        {"tracking": {"source": f"news{NUL}letter"}},
        ["tracking", "source"],
    ),
    (
        "source-surrogate",
        {"tracking": {"source": SURROGATE}},
        ["tracking", "source"],
    ),
    (
        "custom-key",
        {"action": {"actionType": "petition", "customFields": {f"a{NUL}": "x"}}},
        ["action", "customFields"],
    ),
    (
        "custom-value",
        {"action": {"actionType": "petition", "customFields": {"comment": SURROGATE}}},
        ["action", "customFields"],
    ),
    (
        "custom-nested-value",
        {"action": {"actionType": "petition", "customFields": {"a": [{"b": f"x{NUL}"}]}}},
        ["action", "customFields"],
    ),
    (
        "custom-string-value",
        {"action": {"actionType": "petition", "customFields": '{"comment": "\\u0000"}'}},
        ["action", "customFields"],
    ),
    (
        "custom-string-key",
        {"action": {"actionType": "petition", "customFields": '{"\\ud800": 1}'}},
        ["action", "customFields"],
    ),
    (
        "custom-string-raw-surrogate",
        {"action": {"actionType": "petition", "customFields": '{"c": "' + SURROGATE + '"}'}},
        ["action", "customFields"],
    ),
    (
        "consent-version",
        {"privacy": {"optIn": True, "consentVersion": f"v1{NUL}"}},
        ["privacy", "consentVersion"],
    ),
    ("action-type", {"action": {"actionType": "petition\n"}}, ["action", "actionType"]),
    ("contact-ref", {"contactRef": f"abcdefgh{NUL}"}, ["contactRef"]),
]


class TestAddActionContact:
    @pytest.mark.parametrize(
        ("overrides", "path"),
        [(overrides, path) for _, overrides, path in REFUSED],
        ids=[name for name, _, _ in REFUSED],
    )
    async def test_refused_text_is_a_field_error_and_writes_nothing(
        self,
        overrides: dict[str, Any],
        path: list[str],
        coalition: Coalition,
        client: httpx.AsyncClient,
        session: AsyncSession,
    ) -> None:
        # given
        before = await counts(session)
        # when
        body = await post(client, session, SIGN, signature(coalition.partner_page, **overrides))
        # then
        assert body["data"] is None
        [error] = body["errors"]
        assert error["path"] == ["addActionContact", *path]
        assert error["extensions"] == {"code": "INVALID_TEXT"}
        assert "Unexpected error" not in error["message"]
        assert await counts(session) == before

    async def test_refused_text_is_reported_with_the_other_problems(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # when
        body = await post(
            client,
            session,
            SIGN,
            signature(
                coalition.partner_page,
                contact={"firstName": NUL, "email": "nope", "phone": "12"},
            ),
        )
        # then
        found = {(tuple(e["path"]), e["extensions"]["code"]) for e in body["errors"]}
        assert found == {
            (("addActionContact", "contact", "firstName"), "INVALID_TEXT"),
            (("addActionContact", "contact", "email"), "INVALID_EMAIL"),
            (("addActionContact", "contact", "phone"), "INVALID_PHONE"),
        }

    async def test_a_number_json_cannot_hold_is_invalid_json(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given: Python's JSON parser accepts NaN, jsonb does not
        before = await counts(session)
        action = {"actionType": "petition", "customFields": '{"score": NaN}'}
        # when
        body = await post(client, session, SIGN, signature(coalition.partner_page, action=action))
        # then
        [error] = body["errors"]
        assert error["path"] == ["addActionContact", "action", "customFields"]
        assert error["extensions"] == {"code": "INVALID_JSON"}
        assert await counts(session) == before

    async def test_accepted_text_is_stored_in_nfc(
        self,
        coalition: Coalition,
        client: httpx.AsyncClient,
        session: AsyncSession,
        keyring: Keyring,
    ) -> None:
        # given: decomposed forms (e + combining acute), as some keyboards send them
        variables = signature(
            coalition.partner_page,
            contact=_contact(firstName="Zoe\u0301", lastName="Mu\u0308ller\n"),
            action={
                "actionType": "petition",
                "customFields": {"cafe\u0301": "line one\nline\ttwo\u0301"},
            },
            tracking={"source": "re\u0301seau"},
        )
        # when
        body = await post(client, session, SIGN, variables)
        # then
        assert "errors" not in body, body
        assert body["data"]["addActionContact"]["firstName"] == "Zoé"
        contact = (
            await session.execute(
                text("SELECT payload FROM contact WHERE org_id = :o"),
                {"o": coalition.partner.id},
            )
        ).scalar_one()
        payload = keyring.decrypt_json(contact)
        assert payload["firstName"] == "Zo\u00e9"
        assert payload["lastName"] == "M\u00fcller"  # a pasted line break is trimmed
        action = (await session.execute(text("SELECT custom_fields, source FROM action"))).one()
        assert action.custom_fields == {"caf\u00e9": "line one\nline\ttw\u00f3"}
        assert action.source == "r\u00e9seau"

    async def test_nfd_and_nfc_forms_of_an_email_are_one_supporter(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # when: the same address, composed and decomposed
        first = await post(
            client,
            session,
            SIGN,
            signature(coalition.partner_page, contact=_contact(email="zo\u00e9@example.net")),
        )
        second = await post(
            client,
            session,
            SIGN,
            signature(coalition.lead_page, contact=_contact(email="zoe\u0301@example.net")),
        )
        # then
        assert "errors" not in first, first
        assert "errors" not in second, second
        supporters = (await session.execute(text("SELECT count(*) FROM supporter"))).scalar_one()
        assert supporters == 1


class TestFollowUps:
    async def test_add_action_refuses_control_characters_in_tracking(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given
        before = await counts(session)
        variables = {
            "page": coalition.lead_page.id,
            "action": {"actionType": "share"},
            "ref": "abcdefgh12345678",
            "tracking": {"medium": f"what{NUL}sapp"},
        }
        # when
        body = await post(client, session, FOLLOW_UP, variables)
        # then
        [error] = body["errors"]
        assert error["path"] == ["addAction", "tracking", "medium"]
        assert error["extensions"] == {"code": "INVALID_TEXT"}
        assert await counts(session) == before

    async def test_link_actions_refuses_a_nul_in_a_reference(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # when
        body = await post(
            client,
            session,
            LINK,
            {"page": coalition.lead_page.id, "ref": "abcdefgh12345678", "refs": [f"x{NUL}"]},
        )
        # then
        [error] = body["errors"]
        assert error["path"] == ["linkActions", "linkRefs", "0"]
        assert error["extensions"] == {"code": "INVALID_TEXT"}
