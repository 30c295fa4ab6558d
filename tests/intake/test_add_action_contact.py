"""addActionContact / addAction / linkActions through GraphQL, as widgets call them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.crypto import Keyring
from orgs.models import ConnectorKind, PageStatus
from tests import factories as f
from tests.conftest import GraphQLClient
from tests.intake.conftest import (
    FOLLOW_UP,
    SIGN,
    STATS,
    Coalition,
    counts,
    signature,
)


async def rows(session: AsyncSession, sql: str, **params: Any) -> list[dict[str, Any]]:
    result = await session.execute(text(sql), params)
    return [dict(r) for r in result.mappings()]


class TestWhatExistingWidgetsSend:
    async def test_proca_widget_variables_are_accepted(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given: customFields as a JSON string, privacy {} (consent not asked)
        variables = signature(
            coalition.partner_page,
            action={"actionType": "register", "customFields": json.dumps({"comment": "Hi"})},
            privacy={},
            tracking={"source": "newsletter", "medium": "email", "campaign": "nov"},
        )
        # when
        body = await gql(SIGN, variables)
        # then
        assert "errors" not in body, body
        ref = body["data"]["addActionContact"]
        assert ref["firstName"] == "Ada"
        assert len(ref["contactRef"]) >= 16
        [action] = await rows(
            session, "SELECT action_type, custom_fields, source, medium FROM action"
        )
        assert action == {
            "action_type": "register",
            "custom_fields": {"comment": "Hi"},
            "source": "newsletter",
            "medium": "email",
        }
        assert await rows(session, "SELECT * FROM consent") == []  # never inferred
        contacts = await rows(session, "SELECT org_id, scope FROM contact")
        assert contacts == [{"org_id": coalition.partner.id, "scope": "full"}]

    async def test_share_follow_up_through_add_action(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given
        signed = await gql(SIGN, signature(coalition.lead_page))
        ref = signed["data"]["addActionContact"]["contactRef"]
        # when
        body = await gql(
            FOLLOW_UP,
            {
                "page": coalition.lead_page.id,
                "action": {"actionType": "share", "customFields": "{}"},
                "ref": ref,
                "tracking": {"source": "share", "medium": "whatsapp"},
            },
        )
        # then
        assert body["data"]["addAction"] == {"contactRef": ref}
        shares = await rows(
            session,
            "SELECT a.medium FROM action a JOIN contact_ref r ON r.supporter_id = a.supporter_id "
            "WHERE a.action_type = 'share' AND r.ref_hash = sha256(convert_to(:ref, 'UTF8'))",
            ref=ref,
        )
        assert shares == [{"medium": "whatsapp"}]


class TestValidation:
    @pytest.mark.parametrize(
        ("contact", "path", "code"),
        [
            ({"firstName": "A"}, ["contact", "email"], "REQUIRED"),
            ({"email": "not-an-email"}, ["contact", "email"], "INVALID_EMAIL"),
            ({"email": "a@b.org", "address": {"country": "XX"}}, None, "INVALID_COUNTRY"),
            (
                {"email": "a@b.org", "address": {"country": "FR", "postcode": "ABC"}},
                ["contact", "address", "postcode"],
                "INVALID_POSTCODE",
            ),
            ({"email": "a@b.org", "phone": "12"}, ["contact", "phone"], "INVALID_PHONE"),
            ({"email": "a@b.org", "birthDate": "31/12/1990"}, ["contact", "birthDate"], None),
            ({"email": "a@b.org", "firstName": "x" * 101}, ["contact", "firstName"], "TOO_LONG"),
        ],
    )
    async def test_each_problem_names_its_field_and_writes_nothing(
        self,
        contact: dict[str, Any],
        path: list[str] | None,
        code: str | None,
        coalition: Coalition,
        gql: GraphQLClient,
        session: AsyncSession,
    ) -> None:
        # given
        before = await counts(session)
        # when
        body = await gql(SIGN, signature(coalition.lead_page, contact=contact))
        # then
        assert body["data"] is None
        [error] = body["errors"]
        assert error["path"] == ["addActionContact", *(path or ["contact", "address", "country"])]
        assert error["extensions"]["code"] == (code or "INVALID_DATE")
        assert await counts(session) == before

    async def test_every_problem_is_reported_at_once(
        self, coalition: Coalition, gql: GraphQLClient
    ) -> None:
        # when
        body = await gql(
            SIGN,
            signature(
                coalition.lead_page,
                action={"actionType": "1bad", "customFields": "{not json"},
                contact={"email": "nope", "phone": "x"},
            ),
        )
        # then
        found = {(tuple(e["path"]), e["extensions"]["code"]) for e in body["errors"]}
        assert found == {
            (("addActionContact", "action", "actionType"), "INVALID_FORMAT"),
            (("addActionContact", "action", "customFields"), "INVALID_JSON"),
            (("addActionContact", "contact", "email"), "INVALID_EMAIL"),
            (("addActionContact", "contact", "phone"), "INVALID_PHONE"),
        }

    async def test_custom_fields_size_and_depth_limits(
        self, coalition: Coalition, gql: GraphQLClient
    ) -> None:
        # given
        deep: dict[str, Any] = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}
        big = {"text": "x" * 9000}
        # when
        too_deep = await gql(
            SIGN, signature(coalition.lead_page, action={"actionType": "p", "customFields": deep})
        )
        too_big = await gql(
            SIGN, signature(coalition.lead_page, action={"actionType": "p", "customFields": big})
        )
        # then
        assert too_deep["errors"][0]["extensions"]["code"] == "TOO_DEEP"
        assert too_big["errors"][0]["extensions"]["code"] == "TOO_LARGE"

    @pytest.mark.parametrize(
        ("status", "code"),
        [(PageStatus.CLOSED, "PAGE_CLOSED"), (PageStatus.DRAFT, "PAGE_NOT_FOUND")],
    )
    async def test_pages_that_are_not_live_refuse_signatures(
        self,
        status: PageStatus,
        code: str,
        coalition: Coalition,
        gql: GraphQLClient,
        session: AsyncSession,
    ) -> None:
        # given
        page = await f.make_page(session, coalition.lead, coalition.campaign, status=status)
        # when
        body = await gql(SIGN, signature(page))
        # then
        assert body["errors"][0]["extensions"]["code"] == code
        assert body["errors"][0]["path"] == ["addActionContact", "actionPageId"]


class TestConsentAndVisibility:
    async def test_opt_in_goes_to_the_page_org_and_lead_opt_in_to_the_lead(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # when
        await gql(
            SIGN,
            signature(
                coalition.partner_page,
                privacy={"optIn": False, "leadOptIn": True, "consentVersion": "v1"},
            ),
        )
        # then
        consents = await rows(
            session,
            "SELECT org_id, purpose, given, wording_version, method, action_page_id "
            "FROM consent ORDER BY org_id",
        )
        assert sorted(consents, key=lambda c: c["org_id"]) == sorted(
            [
                {
                    "org_id": coalition.partner.id,
                    "purpose": "communication",
                    "given": False,
                    "wording_version": "v1",
                    "method": "single",
                    "action_page_id": coalition.partner_page.id,
                },
                {
                    "org_id": coalition.lead.id,
                    "purpose": "communication",
                    "given": True,
                    "wording_version": "v1",
                    "method": "single",
                    "action_page_id": coalition.partner_page.id,
                },
            ],
            key=lambda c: c["org_id"],
        )
        contacts = await rows(session, "SELECT org_id, scope FROM contact ORDER BY org_id")
        assert {c["org_id"] for c in contacts} == {coalition.partner.id, coalition.lead.id}

    async def test_without_lead_opt_in_the_lead_gets_nothing(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # when
        await gql(SIGN, signature(coalition.partner_page))
        # then
        contacts = await rows(session, "SELECT org_id FROM contact")
        assert contacts == [{"org_id": coalition.partner.id}]

    async def test_the_delivery_org_gets_only_delivery_fields(
        self,
        coalition: Coalition,
        gql: GraphQLClient,
        session: AsyncSession,
        keyring: Keyring,
    ) -> None:
        # given: the lead delivers the signatures to the target
        await session.execute(
            text("UPDATE partnership SET delivery = true WHERE org_id = :o"),
            {"o": coalition.lead.id},
        )
        # when
        await gql(SIGN, signature(coalition.partner_page))
        # then
        [contact] = await rows(
            session, "SELECT scope, payload FROM contact WHERE org_id = :o", o=coalition.lead.id
        )
        assert contact["scope"] == "delivery"
        assert keyring.decrypt_json(contact["payload"]) == {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "address": {"country": "FR", "postcode": "75001"},
        }

    async def test_outbox_rows_only_for_orgs_holding_a_contact(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given: both orgs have a webhook
        await f.make_connector(session, coalition.partner, ConnectorKind.WEBHOOK)
        await f.make_connector(session, coalition.lead, ConnectorKind.WEBHOOK)
        # when
        await gql(SIGN, signature(coalition.partner_page))
        # then
        deliveries = await rows(session, "SELECT org_id, event, status FROM delivery")
        assert deliveries == [
            {"org_id": coalition.partner.id, "event": "action_created", "status": "pending"}
        ]


class TestDedupeAndRetries:
    async def test_same_person_on_two_pages_is_one_supporter(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # when
        first = await gql(SIGN, signature(coalition.lead_page))
        second = await gql(SIGN, signature(coalition.partner_page, email="ADA@example.net"))
        # then: one person, but each submission its own ref and referral code (no oracle)
        one, two = first["data"]["addActionContact"], second["data"]["addActionContact"]
        assert one["contactRef"] != two["contactRef"]
        assert one["referralCode"] != two["referralCode"]
        stats = await gql(STATS, {"id": coalition.lead_page.id})
        assert stats["data"]["actionPage"]["campaign"]["stats"]["supporterCount"] == 1
        assert len(await rows(session, "SELECT id FROM supporter")) == 1

    async def test_a_retry_with_the_same_idempotency_key_creates_nothing(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given
        headers = {"idempotency-key": "7c1d1f0e-retry"}
        first = await gql(SIGN, signature(coalition.lead_page), headers=headers)
        before = await counts(session)
        # when: a different body (the widget re-sent after an edit) with the same key
        again = await gql(SIGN, signature(coalition.lead_page), headers=headers)
        # then: nothing new but a fresh capability for the same signature
        assert again["data"]["addActionContact"]["firstName"] == "Ada"
        ref = again["data"]["addActionContact"]["contactRef"]
        assert ref != first["data"]["addActionContact"]["contactRef"]
        after = await counts(session)
        assert after == {**before, "contact_ref": before["contact_ref"] + 1}
        shared = await gql(
            FOLLOW_UP,
            {"page": coalition.lead_page.id, "action": {"actionType": "share"}, "ref": ref},
        )
        assert shared["data"]["addAction"] == {"contactRef": ref}
        [share] = await rows(session, "SELECT supporter_id FROM action WHERE action_type = 'share'")
        assert share["supporter_id"] is not None

    async def test_a_double_click_counts_once(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # when: the same submission twice, without a key, within the window
        await gql(SIGN, signature(coalition.lead_page))
        await gql(SIGN, signature(coalition.lead_page))
        # then
        assert len(await rows(session, "SELECT id FROM action")) == 1

    async def test_the_answer_does_not_reveal_an_earlier_signature(
        self, coalition: Coalition, gql: GraphQLClient
    ) -> None:
        # when
        new = await gql(SIGN, signature(coalition.lead_page, email="new@example.net"))
        again = await gql(SIGN, signature(coalition.partner_page, email="new@example.net"))
        # then: same shape, no "already signed" hint
        assert set(new["data"]["addActionContact"]) == set(again["data"]["addActionContact"])
        assert "errors" not in again


class TestTrackingAndReferrals:
    async def test_referrer_host_stands_in_for_a_missing_source(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # when
        await gql(
            SIGN,
            signature(coalition.lead_page, tracking={"location": "https://blog.example/post"}),
            headers={"referer": "https://news.example.com/article?id=1"},
        )
        # then
        [action] = await rows(session, "SELECT source, referrer_host, location FROM action")
        assert action == {
            "source": "news.example.com",
            "referrer_host": "news.example.com",
            "location": "https://blog.example/post",
        }

    async def test_a_share_referral_credits_the_sharer(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given
        sharer = await gql(SIGN, signature(coalition.lead_page, email="sharer@example.net"))
        code = sharer["data"]["addActionContact"]["referralCode"]
        # when
        await gql(
            SIGN,
            signature(
                coalition.partner_page,
                email="friend@example.net",
                tracking={"referralCode": code, "medium": "whatsapp"},
            ),
        )
        # then
        [action] = await rows(
            session,
            "SELECT a.source, a.medium, r.ref_hash = sha256(convert_to(:ref, 'UTF8')) AS theirs,"
            " r.supporter_id = a.referred_by_supporter_id AS credited FROM action a "
            "JOIN contact_ref r ON r.id = a.referred_by_ref_id",
            ref=sharer["data"]["addActionContact"]["contactRef"],
        )
        assert action == {"source": "share", "medium": "whatsapp", "theirs": True, "credited": True}


class TestCounting:
    async def test_testing_actions_are_stored_but_never_counted(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # when
        await gql(SIGN, signature(coalition.lead_page, action={"actionType": "p", "testing": True}))
        # then
        stats = await gql(STATS, {"id": coalition.lead_page.id})
        assert stats["data"]["actionPage"]["campaign"]["stats"]["supporterCount"] == 0
        assert await rows(session, "SELECT testing FROM action") == [{"testing": True}]

    async def test_stats_by_type_country_and_page(
        self, coalition: Coalition, gql: GraphQLClient
    ) -> None:
        # given
        await gql(SIGN, signature(coalition.lead_page, email="a@example.net"))
        await gql(SIGN, signature(coalition.partner_page, email="b@example.net"))
        de = {"email": "c@example.net", "address": {"country": "DE", "postcode": "10115"}}
        await gql(SIGN, signature(coalition.partner_page, contact=de))
        # when
        body = await gql(STATS, {"id": coalition.partner_page.id})
        # then
        page = body["data"]["actionPage"]
        assert page["stats"]["supporterCount"] == 2
        assert page["campaign"]["stats"] == {
            "supporterCount": 3,
            "actionCount": [{"actionType": "signature", "count": 3}],
            "supporterCountries": [{"country": "FR", "count": 2}, {"country": "DE", "count": 1}],
        }

    async def test_petition_is_an_alias_of_signature(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # when: Proca's widget and older docs say petition, the hub's widget says signature
        await gql(SIGN, signature(coalition.lead_page, email="a@example.net"))
        await gql(
            SIGN,
            signature(
                coalition.lead_page, email="b@example.net", action={"actionType": "signature"}
            ),
        )
        # then: one name, one count
        types = await rows(session, "SELECT DISTINCT action_type FROM action")
        assert types == [{"action_type": "signature"}]
        body = await gql(STATS, {"id": coalition.lead_page.id})
        assert body["data"]["actionPage"]["campaign"]["stats"]["actionCount"] == [
            {"actionType": "signature", "count": 2}
        ]

    async def test_a_repeat_on_another_page_counts_once_in_the_campaign(
        self, coalition: Coalition, gql: GraphQLClient
    ) -> None:
        # when: the same person signs on both pages
        await gql(SIGN, signature(coalition.lead_page, email="twice@example.net"))
        await gql(SIGN, signature(coalition.partner_page, email="twice@example.net"))
        # then: once in the campaign, once on each page
        lead = (await gql(STATS, {"id": coalition.lead_page.id}))["data"]["actionPage"]
        partner = (await gql(STATS, {"id": coalition.partner_page.id}))["data"]["actionPage"]
        assert lead["campaign"]["stats"]["actionCount"] == [{"actionType": "signature", "count": 1}]
        assert lead["campaign"]["stats"]["supporterCount"] == 1
        assert lead["stats"]["actionCount"] == [{"actionType": "signature", "count": 1}]
        assert partner["stats"]["actionCount"] == [{"actionType": "signature", "count": 1}]

    async def test_it_wasnt_me_takes_the_signature_out_of_the_counts(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given: a double opt-in page, two signers, one of them about to say "it wasn't me"
        from orgs.intake.confirmation import Answer, answer

        await session.execute(
            text("UPDATE action_page SET double_opt_in = true WHERE id = :id"),
            {"id": coalition.lead_page.id},
        )
        await gql(SIGN, signature(coalition.lead_page, email="real@example.net"))
        await gql(SIGN, signature(coalition.lead_page, email="spoofed@example.net"))
        await gql(
            FOLLOW_UP,
            {
                "page": coalition.lead_page.id,
                "action": {"actionType": "share"},
                "ref": (
                    await gql(SIGN, signature(coalition.partner_page, email="spoofed@example.net"))
                )["data"]["addActionContact"]["contactRef"],
            },
        )
        [spoofed] = await rows(
            session,
            "SELECT supporter_id FROM action WHERE action_page_id = :page "
            "AND action_type = 'signature' ORDER BY id DESC LIMIT 1",
            page=coalition.lead_page.id,
        )
        # when
        await answer(await session.connection(), spoofed["supporter_id"], Answer.REJECT)
        # then: as if only the real signer had signed
        body = await gql(STATS, {"id": coalition.lead_page.id})
        assert body["data"]["actionPage"]["campaign"]["stats"] == {
            "supporterCount": 1,
            "actionCount": [{"actionType": "signature", "count": 1}],
            "supporterCountries": [{"country": "FR", "count": 1}],
        }
        assert body["data"]["actionPage"]["stats"]["actionCount"] == [
            {"actionType": "signature", "count": 1}
        ]

    async def test_public_reads_over_get_are_cacheable(
        self, coalition: Coalition, client: Any, gql: GraphQLClient
    ) -> None:
        # when
        response = await client.get(
            "/graphql",
            params={
                "query": "query($id: Int) { actionPage(id: $id) { campaign { stats "
                "{ supporterCount } } } }",
                "variables": json.dumps({"id": coalition.lead_page.id}),
            },
        )
        # then
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=10"


class TestDoubleOptIn:
    async def test_deliveries_wait_and_a_confirmation_mail_is_planned(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given: the page asks for confirmation by email
        page = await f.make_page(session, coalition.partner, coalition.campaign, double_opt_in=True)
        await f.make_connector(session, coalition.partner, ConnectorKind.WEBHOOK)
        # when
        await gql(SIGN, signature(page))
        # then
        [supporter] = await rows(session, "SELECT confirmation FROM supporter")
        assert supporter == {"confirmation": "confirming"}
        deliveries = await rows(
            session, "SELECT event, status, connector_id IS NULL AS mail FROM delivery ORDER BY id"
        )
        assert deliveries == [
            {"event": "action_created", "status": "waiting", "mail": False},
            {"event": "confirmation_mail", "status": "pending", "mail": True},
        ]
        consents = await rows(session, "SELECT DISTINCT method FROM consent")
        assert consents == [{"method": "double"}]

    async def test_a_thank_you_mail_when_the_page_asks_for_one(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given
        page = await f.make_page(session, coalition.lead, coalition.campaign, thank_you_mail=True)
        # when
        await gql(SIGN, signature(page))
        # then
        assert await rows(session, "SELECT event, connector_id IS NULL AS m FROM delivery") == [
            {"event": "thank_you_mail", "m": True}
        ]


class TestEmbedHosts:
    async def test_an_org_may_restrict_its_pages_to_its_own_sites(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given
        coalition.partner.settings = {"embedHosts": ["partner.example"]}
        session.add(coalition.partner)
        page = coalition.partner_page
        # when
        hostile = await gql(SIGN, signature(page), headers={"origin": "https://evil.example"})
        own = await gql(
            SIGN,
            signature(page, email="b@example.net"),
            headers={"origin": "https://www.partner.example"},
        )
        # then
        assert hostile["errors"][0]["extensions"]["code"] == "ORIGIN_NOT_ALLOWED"
        assert "errors" not in own
