"""A signature with a message to targets: Proca's Email step, validation, what is planned."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.crypto import Keyring
from orgs.models import MailToTarget
from tests import factories as f
from tests.conftest import GraphQLClient
from tests.intake.conftest import FOLLOW_UP, counts
from tests.targets.conftest import PROCA_SIGN, SIGN_MAILTO, Mtt, messages, proca_variables, rows


async def _settings(session: AsyncSession, mtt: Mtt, **changes: Any) -> None:
    row = await session.get(MailToTarget, mtt.campaign.id)
    assert row is not None
    for name, value in changes.items():
        setattr(row, name, value)
    await session.flush()


def _codes(body: dict[str, Any]) -> list[tuple[list[Any], str]]:
    return [(e["path"], e["extensions"]["code"]) for e in body.get("errors", [])]


class TestProcaEmailStep:
    async def test_procas_document_plans_one_message_per_target(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # when: Proca's widget sends its Email step to the hub
        body = await gql(PROCA_SIGN, proca_variables(mtt.page, "ada@example.net"))
        # then
        assert "errors" not in body, body
        assert body["data"]["addActionContact"]["firstName"] == "Ada"
        [action] = await rows(session, "SELECT action_type, testing FROM action")
        assert action == {"action_type": "mail2target", "testing": False}
        planned = await messages(session)
        assert [(m["target"], m["kind"], m["status"], m["event"]) for m in planned] == [
            ("mayor", "send", "pending", "target_mail"),
            ("board", "send", "pending", "target_mail"),
        ]
        # the signer's words are kept encrypted, like a contact
        [payload] = await rows(session, "SELECT DISTINCT payload FROM target_message")
        assert b"Save the river" not in bytes(payload["payload"])

    async def test_procas_request_as_its_widget_posts_it(
        self, mtt: Mtt, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given the request exactly as Proca's widget posts it: the page id in the URL, an
        # operation name, customFields as a JSON string, the targets' procaid from the list
        # file, and no consent asked (privacy {})
        listed = (await client.get(f"/targets/{mtt.page.id}.json")).json()
        chosen = [t["procaid"] for t in listed if t["area"] == "Riverside"]
        variables = proca_variables(mtt.page, "ada@example.net")
        variables["action"]["mtt"]["targets"] = chosen
        variables["action"]["customFields"] = '{"comment":"Please"}'
        variables["privacy"] = {}
        # when
        response = await client.post(
            f"/graphql?id={mtt.page.id}",
            json={"query": PROCA_SIGN, "variables": variables, "operationName": "addActionContact"},
            headers={"content-type": "application/json", "accept": "application/json"},
        )
        # then
        assert response.status_code == 200
        body = response.json()
        assert "errors" not in body, body
        assert body["data"]["addActionContact"]["firstName"] == "Ada"
        assert sorted(m["target"] for m in await messages(session)) == ["board", "mayor"]

    async def test_a_follow_up_with_the_ref_writes_to_targets_too(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given a signature without a message
        variables = proca_variables(mtt.page, "ada@example.net")
        variables["action"] = {"actionType": "signature"}
        signed = await gql(PROCA_SIGN, variables)
        ref = signed["data"]["addActionContact"]["contactRef"]
        # when the Email step comes as a follow-up
        body = await gql(
            FOLLOW_UP,
            {
                "page": mtt.page.id,
                "ref": ref,
                "action": {
                    "actionType": "mail2target",
                    "mtt": {"subject": "Hi", "body": "Act now", "targets": ["minister"]},
                },
            },
        )
        # then
        assert "errors" not in body, body
        assert [m["target"] for m in await messages(session)] == ["minister"]

    async def test_a_follow_up_with_an_unknown_ref_sends_nothing(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        body = await gql(
            FOLLOW_UP,
            {
                "page": mtt.page.id,
                "ref": "x" * 24,
                "action": {"actionType": "mail2target", "mtt": {"targets": ["minister"]}},
            },
        )
        assert "errors" not in body, body
        assert await messages(session) == []


class TestOnlyTheCampaignsTargets:
    async def test_an_unknown_target_is_refused_and_nothing_is_written(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given
        before = await counts(session)
        variables = proca_variables(mtt.page, "ada@example.net")
        variables["action"]["mtt"]["targets"] = ["mayor", "nobody", "someone@example.org"]
        # when
        body = await gql(PROCA_SIGN, variables)
        # then: targets are named by external id only; an address is no target
        assert body["data"] is None
        path = ["addActionContact", "action", "mtt", "targets"]
        assert _codes(body) == [
            ([*path, "1"], "UNKNOWN_TARGET"),
            ([*path, "2"], "UNKNOWN_TARGET"),
        ]
        assert await counts(session) == before
        assert await messages(session) == []

    async def test_another_campaigns_target_is_unknown_here(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        other = await f.make_campaign(session, mtt.lead)
        await f.make_target(session, other, "elsewhere")
        variables = proca_variables(mtt.page, "ada@example.net")
        variables["action"]["mtt"]["targets"] = ["elsewhere"]
        body = await gql(PROCA_SIGN, variables)
        assert _codes(body) == [
            (["addActionContact", "action", "mtt", "targets", "0"], "UNKNOWN_TARGET")
        ]

    async def test_disabled_targets_and_bounced_addresses_get_nothing(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given the minister disabled and the board's only address bounced
        await session.execute(
            text("UPDATE target SET active = false WHERE external_id = 'minister'")
        )
        await session.execute(
            text(
                "UPDATE target_email SET status = 'bounced' WHERE target_id = "
                "(SELECT id FROM target WHERE external_id = 'board')"
            )
        )
        variables = proca_variables(mtt.page, "ada@example.net")
        variables["action"]["mtt"]["targets"] = ["minister", "board"]
        # when
        body = await gql(PROCA_SIGN, variables)
        # then
        assert [code for _, code in _codes(body)] == ["UNKNOWN_TARGET", "UNKNOWN_TARGET"]


class TestHostileText:
    async def test_a_line_break_in_the_subject_is_refused(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        variables = proca_variables(mtt.page, "ada@example.net")
        variables["action"]["mtt"]["subject"] = "Hello\r\nBcc: victim@example.org"
        body = await gql(PROCA_SIGN, variables)
        assert _codes(body) == [(["addActionContact", "action", "mtt", "subject"], "INVALID_TEXT")]
        assert await messages(session) == []

    async def test_a_huge_body_or_a_nul_is_refused(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        variables = proca_variables(mtt.page, "ada@example.net")
        variables["action"]["mtt"]["body"] = "x" * 10_001
        huge = await gql(PROCA_SIGN, variables)
        variables["action"]["mtt"]["body"] = "Dear\x00 you"
        nul = await gql(PROCA_SIGN, variables)
        path = ["addActionContact", "action", "mtt", "body"]
        assert _codes(huge) == [(path, "TOO_LONG")]
        assert _codes(nul) == [(path, "INVALID_TEXT")]

    async def test_too_many_targets_are_refused(self, mtt: Mtt, gql: GraphQLClient) -> None:
        variables = proca_variables(mtt.page, "ada@example.net")
        variables["action"]["mtt"]["targets"] = [f"t{i}" for i in range(51)]
        body = await gql(PROCA_SIGN, variables)
        assert _codes(body) == [(["addActionContact", "action", "mtt", "targets"], "TOO_LARGE")]


class TestWhatIsPlanned:
    async def test_one_message_per_supporter_and_target(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given Ada wrote to the mayor and the board
        await gql(PROCA_SIGN, proca_variables(mtt.page, "ada@example.net"))
        # when she writes again (on a partner's page) to the mayor and the minister
        again = proca_variables(mtt.partner_page, "ada@example.net")
        again["action"]["mtt"]["targets"] = ["mayor", "minister"]
        body = await gql(PROCA_SIGN, again)
        # then the mayor gets her message once
        assert "errors" not in body, body
        assert [m["target"] for m in await messages(session)] == ["mayor", "board", "minister"]

    async def test_the_template_is_used_when_editing_is_not_allowed(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession, keyring: Keyring
    ) -> None:
        await _settings(session, mtt, editable=False)
        await gql(PROCA_SIGN, proca_variables(mtt.page, "ada@example.net"))
        payloads = await rows(session, "SELECT payload FROM target_message ORDER BY id")
        text_ = keyring.decrypt_json(bytes(payloads[0]["payload"]))
        assert text_["subject"] == "Please act, {target}"
        assert text_["body"] == "Dear {target},\n\nPlease act."

    async def test_without_a_text_the_template_is_used(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession, keyring: Keyring
    ) -> None:
        variables = proca_variables(mtt.page, "ada@example.net")
        variables["action"]["mtt"] = {"targets": ["mayor"]}
        body = await gql(PROCA_SIGN, variables)
        assert "errors" not in body, body
        [payload] = await rows(session, "SELECT payload FROM target_message")
        assert keyring.decrypt_json(bytes(payload["payload"]))["subject"] == "Please act, {target}"

    async def test_moderation_holds_every_message(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        await _settings(session, mtt, moderation="all")
        await gql(PROCA_SIGN, proca_variables(mtt.page, "ada@example.net"))
        assert [(m["status"], m["hold"]) for m in await messages(session)] == [
            ("held", "moderation"),
            ("held", "moderation"),
        ]

    async def test_a_listed_word_holds_the_message_others_go(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        await _settings(session, mtt, moderation="words", blocked_words=["idiot"])
        rude = proca_variables(mtt.page, "ada@example.net")
        rude["action"]["mtt"]["body"] = "You IDIOT, save the river."
        polite = proca_variables(mtt.page, "bob@example.net")
        polite["action"]["mtt"]["body"] = "Idiotically late, but please act."
        await gql(PROCA_SIGN, rude)
        await gql(PROCA_SIGN, polite)
        assert [m["status"] for m in await messages(session)] == [
            "held",
            "held",
            "pending",
            "pending",
        ]

    async def test_a_paused_campaign_holds_new_messages(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        await _settings(session, mtt, paused=True)
        await gql(PROCA_SIGN, proca_variables(mtt.page, "ada@example.net"))
        assert {(m["status"], m["hold"]) for m in await messages(session)} == {("held", "paused")}

    async def test_a_test_writes_one_copy_for_the_signer(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        variables = proca_variables(mtt.page, "ada@example.net", testing=True)
        await gql(PROCA_SIGN, variables)
        assert [(m["kind"], m["testing"], m["status"]) for m in await messages(session)] == [
            ("test", True, "pending")
        ]

    async def test_a_flagged_signature_writes_no_message(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # a page asking for a proof of work, signed without one: stored flagged
        await session.execute(
            text("UPDATE action_page SET config = config || '{\"altcha\": true}' WHERE id = :id"),
            {"id": mtt.page.id},
        )
        body = await gql(PROCA_SIGN, proca_variables(mtt.page, "bot@example.net"))
        assert "errors" not in body
        assert await messages(session) == []

    async def test_the_drip_spreads_one_targets_messages_under_its_cap(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given a cap of 4 an hour, a window opening tomorrow at 09:00 Brussels time
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
        await _settings(
            session,
            mtt,
            hourly_cap=4,
            starts_on=tomorrow,
            daily_start=9 * 60,
            daily_end=17 * 60,
            timezone="Europe/Brussels",
        )
        # when five people write to the mayor
        for n in range(5):
            variables = proca_variables(mtt.page, f"s{n}@example.net")
            variables["action"]["mtt"]["targets"] = ["mayor"]
            await gql(PROCA_SIGN, variables)
        # then their slots are 15 minutes apart from the opening
        slots = [m["next_attempt_at"] for m in await messages(session)]
        first = slots[0].astimezone(ZoneInfo("Europe/Brussels"))
        assert (first.date(), first.time()) == (tomorrow, time(9, 0))
        assert [s - slots[0] for s in slots] == [timedelta(minutes=15 * i) for i in range(5)]


class TestMailtoMode:
    async def test_mailto_counts_clicks_and_answers_the_link(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given a campaign whose signers send from their own mail app
        await _settings(session, mtt, mode="mailto")
        variables = proca_variables(mtt.page, "ada@example.net")
        # when
        body = await gql(
            SIGN_MAILTO,
            {
                "page": mtt.page.id,
                "action": variables["action"],
                "contact": variables["contact"],
                "privacy": variables["privacy"],
            },
        )
        # then nothing is sent by the hub, the clicks count, the link opens the mail app
        assert "errors" not in body, body
        planned = await messages(session)
        assert [(m["target"], m["kind"], m["status"]) for m in planned] == [
            ("mayor", "click", None),
            ("board", "click", None),
        ]
        link = urlsplit(body["data"]["addActionContact"]["mailto"])
        assert link.scheme == "mailto"
        assert unquote(link.path) == "mayor@targets.example.org,board@targets.example.org"
        query = parse_qs(link.query)
        assert query["subject"] == ["Save the river"]
        assert query["body"][0].startswith("Dear Mayor Ann, Water Board,")
        assert query["body"][0].rstrip().endswith("Ada Lovelace")

    async def test_in_server_mode_no_link_and_no_address_is_answered(
        self, mtt: Mtt, gql: GraphQLClient
    ) -> None:
        variables = proca_variables(mtt.page, "ada@example.net")
        body = await gql(
            SIGN_MAILTO,
            {
                "page": mtt.page.id,
                "action": {**variables["action"], "customFields": {"medium": "mailto"}},
                "contact": variables["contact"],
                "privacy": variables["privacy"],
            },
        )
        assert body["data"]["addActionContact"]["mailto"] is None
        assert "targets.example.org" not in str(body)


def _writing(mtt: Mtt, email: str, postcode: str, *targets: str) -> dict[str, Any]:
    variables = proca_variables(mtt.page, email)
    variables["action"]["mtt"]["targets"] = list(targets)
    variables["contact"]["address"]["postcode"] = postcode
    return variables


class TestPostcodeCampaign:
    """With ``selection: POSTCODE`` the server holds the chosen targets to the signer's
    postcode (the widget's lookup alone is only a convenience for honest signers)."""

    async def test_a_target_of_another_postcode_is_refused_and_nothing_is_written(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given a postcode campaign: the mayor answers for 750.., the board for 751..
        await _settings(session, mtt, selection="postcode")
        before = await counts(session)
        # when a signer of 750 12 names the mayor and the board
        body = await gql(PROCA_SIGN, _writing(mtt, "ada@example.net", "750 12", "mayor", "board"))
        # then the board is refused, at its item, and nothing is written
        assert body["data"] is None
        path = ["addActionContact", "action", "mtt", "targets"]
        assert _codes(body) == [([*path, "1"], "UNKNOWN_TARGET")]
        assert body["errors"][0]["message"].endswith("does not answer for this postcode")
        assert await counts(session) == before
        assert await messages(session) == []

    async def test_the_postcodes_own_targets_go_spaces_and_case_ignored(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        await _settings(session, mtt, selection="postcode")
        await f.make_target(session, mtt.campaign, "ward", name="Ward B", postcodes=["SW1A"])
        assert "errors" not in await gql(
            PROCA_SIGN, _writing(mtt, "a@example.net", "75012", "mayor")
        )
        assert "errors" not in await gql(
            PROCA_SIGN, _writing(mtt, "b@example.net", "sw1a 1aa", "ward")
        )
        assert [m["target"] for m in await messages(session)] == ["mayor", "ward"]

    async def test_without_a_postcode_nothing_is_written(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        await _settings(session, mtt, selection="postcode")
        body = await gql(PROCA_SIGN, _writing(mtt, "ada@example.net", "", "mayor"))
        assert _codes(body) == [
            (["addActionContact", "contact", "address", "postcode"], "REQUIRED")
        ]
        assert await messages(session) == []

    async def test_a_follow_up_is_held_to_the_postcode_signed_with(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given a signature (no message yet) from 751 00, on a postcode campaign
        await _settings(session, mtt, selection="postcode")
        variables = _writing(mtt, "ada@example.net", "751 00")
        variables["action"] = {"actionType": "signature"}
        ref = (await gql(PROCA_SIGN, variables))["data"]["addActionContact"]["contactRef"]

        async def follow_up(*targets: str) -> dict[str, Any]:
            action = {"actionType": "mail2target", "mtt": {"targets": list(targets)}}
            return await gql(FOLLOW_UP, {"page": mtt.page.id, "ref": ref, "action": action})

        # when the Email step follows with a target of another postcode, then with its own
        refused = await follow_up("minister")
        sent = await follow_up("board")
        # then
        assert _codes(refused) == [
            (["addAction", "action", "mtt", "targets", "0"], "UNKNOWN_TARGET")
        ]
        assert "errors" not in sent, sent
        assert [m["target"] for m in await messages(session)] == ["board"]

    async def test_a_follow_up_of_a_signer_without_a_postcode_writes_to_no_one(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        await _settings(session, mtt, selection="postcode")
        variables = proca_variables(mtt.page, "ada@example.net")
        variables["action"] = {"actionType": "signature"}
        ref = (await gql(PROCA_SIGN, variables))["data"]["addActionContact"]["contactRef"]
        action = {"actionType": "mail2target", "mtt": {"targets": ["mayor"]}}
        body = await gql(FOLLOW_UP, {"page": mtt.page.id, "ref": ref, "action": action})
        assert _codes(body) == [(["addAction", "action", "mtt", "targets", "0"], "UNKNOWN_TARGET")]
        assert await messages(session) == []

    async def test_a_choose_campaign_takes_any_of_its_targets(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        body = await gql(PROCA_SIGN, _writing(mtt, "ada@example.net", "999", "minister"))
        assert "errors" not in body, body
        assert [m["target"] for m in await messages(session)] == ["minister"]
