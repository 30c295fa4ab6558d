"""POST /osdi/v1/petitions/{page}/signatures: Action Network's record signature helper.

As the widget's intake (the same service, limits and error style) for an org's own tools:
the org's token, its pages only, consent stated, never inferred.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from orgs.crypto import Keyring
from orgs.models import PageStatus, utcnow
from tests import factories as f
from tests.isolation.test_matrix import fingerprint
from tests.osdi.conftest import BODY, Osdi, World, body


async def rows(session: AsyncSession, sql: str, **params: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in (await session.execute(text(sql), params)).mappings()]


def codes(response: httpx.Response) -> list[tuple[list[Any], str]]:
    return [(e.get("path", []), e["extensions"]["code"]) for e in response.json()["errors"]]


class TestRecordSignature:
    async def test_the_signature_goes_through_the_intake_with_everything_mapped(
        self, osdi: Osdi, world: World, session: AsyncSession, keyring: Keyring
    ) -> None:
        # when
        response = await osdi.post(world.page.id, BODY, token=world.token)
        # then: HAL+JSON, the signature's reference
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/hal+json"
        answer = response.json()
        ref = answer["coalition_hub:contact_ref"]
        assert answer["identifiers"] == [f"coalition_hub:{ref}"]
        assert answer["_links"]["self"]["href"].endswith(
            f"/osdi/v1/petitions/{world.page.id}/signatures"
        )
        [action] = await rows(
            session,
            "SELECT action_type, custom_fields, source, medium, location, org_id FROM action",
        )
        assert action == {
            "action_type": "signature",
            "custom_fields": {
                "occupation": "engineer",
                "comment": "For the rivers",
                "tags": ["rivers", "volunteer"],
            },
            "source": "newsletter",
            "medium": "email",
            "location": "https://partner.example.org/rivers",
            "org_id": world.org.id,
        }
        [contact] = await rows(session, "SELECT org_id, scope, payload FROM contact")
        assert contact["org_id"] == world.org.id
        assert keyring.decrypt_json(contact["payload"]) == {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "email": "ada@example.net",
            "phone": "+33612345678",
            "address": {"postcode": "75011", "locality": "Paris", "country": "FR"},
        }
        consents = await rows(session, "SELECT org_id, purpose, given FROM consent")
        assert consents == [{"org_id": world.org.id, "purpose": "communication", "given": True}]
        mails = await rows(session, "SELECT event FROM delivery WHERE event = 'thank_you_mail'")
        assert len(mails) == 1

    async def test_unsubscribed_records_the_refusal(
        self, osdi: Osdi, world: World, session: AsyncSession
    ) -> None:
        emails = [{"address": "bo@example.net", "status": "unsubscribed"}]
        response = await osdi.post(
            world.page.id, body(person__email_addresses=emails), token=world.token
        )
        assert response.status_code == 200
        consents = await rows(session, "SELECT org_id, given FROM consent")
        assert consents == [{"org_id": world.org.id, "given": False}]

    async def test_consent_to_the_lead_is_given_only_when_stated(
        self, osdi: Osdi, world: World, session: AsyncSession
    ) -> None:
        stated = body(**{"coalition_hub:consent": {"lead_opt_in": True, "consent_version": "v1"}})
        response = await osdi.post(world.page.id, stated, token=world.token)
        assert response.status_code == 200, response.text
        given = await rows(
            session, "SELECT org_id, given, wording_version FROM consent ORDER BY org_id"
        )
        assert {(g["org_id"], g["given"], g["wording_version"]) for g in given} == {
            (world.org.id, True, "v1"),
            (world.lead.id, True, "v1"),
        }
        contacts = await rows(session, "SELECT org_id FROM contact ORDER BY org_id")
        assert {c["org_id"] for c in contacts} == {world.org.id, world.lead.id}

    async def test_autoresponse_off_sends_no_thank_you(
        self, osdi: Osdi, world: World, session: AsyncSession
    ) -> None:
        quiet = body(triggers={"autoresponse": {"enabled": False}})
        response = await osdi.post(world.page.id, quiet, token=world.token)
        assert response.status_code == 200
        assert await rows(session, "SELECT 1 FROM delivery WHERE event = 'thank_you_mail'") == []

    async def test_a_retry_with_the_same_key_creates_nothing_and_answers_alike(
        self, osdi: Osdi, world: World, session: AsyncSession
    ) -> None:
        key = {"idempotency-key": "crm-sync-42"}
        first = await osdi.post(world.page.id, BODY, token=world.token, headers=key)
        again = await osdi.post(world.page.id, BODY, token=world.token, headers=key)
        assert first.status_code == again.status_code == 200
        assert set(first.json()) == set(again.json())
        assert len(await rows(session, "SELECT id FROM action")) == 1

    async def test_the_trailing_slash_of_action_networks_urls_works(
        self, osdi: Osdi, world: World
    ) -> None:
        response = await osdi.post(f"{world.page.id}", BODY, token=world.token)
        slashed = await osdi.http.post(
            f"/osdi/v1/petitions/{world.page.id}/signatures/",
            json=body(
                person__email_addresses=[{"address": "c@example.net", "status": "subscribed"}]
            ),
            headers={"OSDI-API-Token": world.token},
        )
        assert response.status_code == slashed.status_code == 200


class TestConsentIsStated:
    @pytest.mark.parametrize("status", [None, "", "yes", True, "pending"])
    async def test_without_a_status_nothing_is_recorded(
        self, status: Any, osdi: Osdi, world: World, connection: AsyncConnection
    ) -> None:
        email: dict[str, Any] = {"address": "ada@example.net"}
        if status is not None:
            email["status"] = status
        before = await fingerprint(connection)
        response = await osdi.post(
            world.page.id, body(person__email_addresses=[email]), token=world.token
        )
        assert response.status_code == 400
        assert codes(response) == [(["person", "email_addresses", "0", "status"], "REQUIRED")]
        assert await fingerprint(connection) == before

    async def test_the_primary_address_is_the_one_read(
        self, osdi: Osdi, world: World, session: AsyncSession, keyring: Keyring
    ) -> None:
        emails = [
            {"address": "old@example.net"},
            {"address": "new@example.net", "primary": True, "status": "subscribed"},
        ]
        response = await osdi.post(
            world.page.id, body(person__email_addresses=emails), token=world.token
        )
        assert response.status_code == 200, response.text
        [contact] = await rows(session, "SELECT payload FROM contact")
        assert keyring.decrypt_json(contact["payload"])["email"] == "new@example.net"


class TestWhoMayPost:
    async def test_another_orgs_token_gets_not_found_and_changes_nothing(
        self, osdi: Osdi, world: World, connection: AsyncConnection
    ) -> None:
        before = await fingerprint(connection)
        # the other org is a partner in the same campaign: still not its page
        response = await osdi.post(world.page.id, BODY, token=world.other_token)
        assert response.status_code == 404
        assert codes(response) == [(["petition"], "PAGE_NOT_FOUND")]
        assert await fingerprint(connection) == before

    async def test_unknown_draft_and_odd_pages_look_the_same(
        self, osdi: Osdi, world: World, session: AsyncSession
    ) -> None:
        draft = await f.make_page(session, world.org, world.campaign, status=PageStatus.DRAFT)
        answers = []
        for page in (987654321, draft.id, world.other_page.id):
            response = await osdi.post(page, BODY, token=world.token)
            answers.append((response.status_code, codes(response)))
        assert answers == [(404, [(["petition"], "PAGE_NOT_FOUND")])] * 3
        for odd in ("abc", "-1", "1e3", "9" * 40, "%31"):
            response = await osdi.post(odd, BODY, token=world.token)
            assert response.status_code == 404, odd

    async def test_a_closed_page_is_refused(
        self, osdi: Osdi, world: World, session: AsyncSession
    ) -> None:
        closed = await f.make_page(session, world.org, world.campaign, status=PageStatus.CLOSED)
        response = await osdi.post(closed.id, BODY, token=world.token)
        assert response.status_code == 400
        assert codes(response) == [(["petition"], "PAGE_CLOSED")]

    async def test_tokens_without_the_scope_or_validity_are_refused(
        self, osdi: Osdi, world: World, session: AsyncSession, connection: AsyncConnection
    ) -> None:
        _, owner_level = await f.make_token(session, world.org, ["pages:write", "contacts:read"])
        _, expired = await f.make_token(
            session, world.org, ["signatures:write"], expires_at=utcnow() - timedelta(days=1)
        )
        revoked, revoked_plain = await f.make_token(session, world.org, ["signatures:write"])
        revoked.revoked_at = utcnow()
        await session.flush()
        before = await fingerprint(connection)
        cases = [
            (None, 401, "UNAUTHENTICATED"),
            ("", 401, "UNAUTHENTICATED"),
            ("chub_at_000000000000_forged", 401, "UNAUTHENTICATED"),
            (world.token + "x", 401, "UNAUTHENTICATED"),
            (expired, 401, "UNAUTHENTICATED"),
            (revoked_plain, 401, "UNAUTHENTICATED"),
            (owner_level, 403, "FORBIDDEN"),
            ("Bearer " + world.token, 401, "UNAUTHENTICATED"),
        ]
        for token, status, code in cases:
            response = await osdi.post(world.page.id, BODY, token=token)
            assert (response.status_code, codes(response)[0][1]) == (status, code), token
            assert world.token not in response.text
        # an Authorization header is not an OSDI token
        response = await osdi.http.post(
            f"/osdi/v1/petitions/{world.page.id}/signatures",
            json=BODY,
            headers={"authorization": f"Bearer {world.token}"},
        )
        assert response.status_code == 401
        changed = await fingerprint(connection)
        assert {k: v for k, v in changed.items() if k != "api_token"} == {
            k: v for k, v in before.items() if k != "api_token"
        }


HOSTILE_PERSONS: dict[str, tuple[dict[str, Any], list[str], str]] = {
    "a name that is a number": ({"given_name": 5}, ["person", "given_name"], "INVALID_FORMAT"),
    "emails as a string": (
        {"email_addresses": "a@b"},
        ["person", "email_addresses"],
        "INVALID_FORMAT",
    ),
    "no email": ({"email_addresses": []}, ["person", "email_addresses"], "REQUIRED"),
    "an invalid email": (
        {"email_addresses": [{"address": "not an address", "status": "subscribed"}]},
        ["person", "email_addresses", "0", "address"],
        "INVALID_EMAIL",
    ),
    "too many emails": (
        {"email_addresses": [{"address": f"a{i}@example.net"} for i in range(21)]},
        ["person", "email_addresses"],
        "TOO_LARGE",
    ),
    "a NUL in a name": ({"family_name": "Love\x00lace"}, ["person", "family_name"], "INVALID_TEXT"),
    "a country that is none": (
        {"postal_addresses": [{"country": "Atlantis"}]},
        ["person", "postal_addresses", "0", "country"],
        "INVALID_COUNTRY",
    ),
    "custom fields as a list": (
        {"custom_fields": [1]},
        ["person", "custom_fields"],
        "INVALID_FORMAT",
    ),
    "huge custom fields": (
        {"custom_fields": {"essay": "x" * 9000}},
        ["person", "custom_fields"],
        "TOO_LARGE",
    ),
    "a bad phone": (
        {"phone_numbers": [{"number": "call me maybe"}]},
        ["person", "phone_numbers", "0", "number"],
        "INVALID_PHONE",
    ),
}


class TestHostileBodies:
    @pytest.mark.parametrize("case", HOSTILE_PERSONS.values(), ids=HOSTILE_PERSONS.keys())
    async def test_bad_person_fields_are_reported_at_their_osdi_path(
        self,
        case: tuple[dict[str, Any], list[str], str],
        osdi: Osdi,
        world: World,
        connection: AsyncConnection,
    ) -> None:
        changes, path, code = case
        before = await fingerprint(connection)
        sent = body(**{f"person__{k}": v for k, v in changes.items()})
        response = await osdi.post(world.page.id, sent, token=world.token)
        assert response.status_code == 400, response.text
        assert (path, code) in codes(response)
        assert "Unexpected" not in response.text
        assert await fingerprint(connection) == before

    @pytest.mark.parametrize(
        ("raw", "status"),
        [
            (b"not json", 400),
            (b"[]", 400),
            (b'"a string"', 400),
            (b"null", 400),
            (b'{"person": "Ada"}', 400),
            (b"\xff\xfe", 400),
            (b'{"a":' * 40 + b"1" + b"}" * 40, 400),
            (json.dumps({**BODY, "add_tags": [f"t{i}" for i in range(51)]}).encode(), 400),
            (json.dumps({**BODY, "add_tags": "volunteer"}).encode(), 400),
            (json.dumps({**BODY, "triggers": {"autoresponse": {"enabled": "no"}}}).encode(), 400),
            (json.dumps({**BODY, "coalition_hub:consent": {"lead_opt_in": "yes"}}).encode(), 400),
        ],
    )
    async def test_malformed_documents_are_refused_as_json(
        self, raw: bytes, status: int, osdi: Osdi, world: World, connection: AsyncConnection
    ) -> None:
        before = await fingerprint(connection)
        response = await osdi.post(world.page.id, None, token=world.token, raw=raw)
        assert response.status_code == status, response.text
        assert response.json()["errors"]
        assert await fingerprint(connection) == before

    async def test_an_oversized_body_is_refused_before_it_is_read(
        self, osdi: Osdi, world: World
    ) -> None:
        huge = body(comments="x" * 17_000)
        response = await osdi.post(world.page.id, huge, token=world.token)
        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    async def test_only_json_bodies(self, osdi: Osdi, world: World) -> None:
        form = {"content-type": "application/x-www-form-urlencoded"}
        response = await osdi.post(world.page.id, None, token=world.token, raw=b"a=1", headers=form)
        assert response.status_code == 415

    async def test_a_browser_cannot_send_the_token_cross_site(
        self, osdi: Osdi, world: World
    ) -> None:
        preflight = await osdi.http.options(
            f"/osdi/v1/petitions/{world.page.id}/signatures",
            headers={
                "origin": "https://evil.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "osdi-api-token, content-type",
            },
        )
        assert "osdi-api-token" not in preflight.headers.get("access-control-allow-headers", "")


class TestEntryPoint:
    async def test_the_aep_links_the_helper(self, client: httpx.AsyncClient) -> None:
        for path in ("/osdi/v1", "/osdi/v1/"):
            response = await client.get(path)
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/hal+json"
            links = response.json()["_links"]
            helper = links["osdi:record_signature_helper"]
            assert helper["href"] == "http://hub.test/osdi/v1/petitions/{action_page_id}/signatures"
            assert helper["templated"] is True
