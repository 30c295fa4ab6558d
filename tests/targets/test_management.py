"""Managing targets through the API, and what the public may read of them: the lead and
coordinators manage; a partner, another org, a narrow token and anonymous callers change
nothing and read no address (issue 14)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.crypto import Keyring
from tests import factories as f
from tests.conftest import GraphQLClient
from tests.targets.conftest import PROCA_SIGN, Mtt, messages, proca_variables, rows

UPSERT = """
mutation($input: UpsertTargetsInput!) {
  upsertTargets(input: $input) {
    __typename
    ... on UpsertTargetsSuccess {
      targets { externalId name area active postcodes fields emails { email status } }
    }
    ... on UpsertTargetsErrors { errors { field code message } }
  }
}
"""
SETTINGS = """
mutation($input: UpdateMailToTargetInput!) {
  updateMailToTarget(input: $input) {
    __typename
    ... on UpdateMailToTargetSuccess {
      settings { mode editable window { dailyStart dailyEnd timezone hourlyCap } }
    }
    ... on UpdateMailToTargetErrors { errors { field code message } }
  }
}
"""
PAUSE = """
mutation($campaign: String!) {
  pauseMailToTarget(input: {campaign: $campaign}) {
    __typename
    ... on PauseMailToTargetSuccess { settings { paused } }
    ... on PauseMailToTargetErrors { errors { code } }
  }
}
"""
CANCEL = """
mutation($campaign: String!, $target: String!) {
  cancelTargetMessages(input: {campaign: $campaign, target: $target}) {
    __typename
    ... on CancelTargetMessagesSuccess { cancelled }
    ... on CancelTargetMessagesErrors { errors { field code } }
  }
}
"""
MODERATE = """
mutation($campaign: String!, $ids: [Int!]!, $approve: Boolean!) {
  moderateTargetMessages(input: {campaign: $campaign, ids: $ids, approve: $approve}) {
    __typename
    ... on ModerateTargetMessagesSuccess { count }
    ... on ModerateTargetMessagesErrors { errors { code } }
  }
}
"""
CAMPAIGN_TARGETS = """
query($campaign: String!) {
  campaignTargets(campaign: $campaign) {
    externalId emails { email status softBounces } messages { sent queued held clicks }
  }
}
"""
CAMPAIGN_TARGETS_HELD = """
query($campaign: String!) {
  campaignTargets(campaign: $campaign) { externalId messages { held heldForModeration } }
}
"""
TARGET_AREAS = """
query($campaign: String!) {
  campaignTargetAreas(campaign: $campaign) {
    area targets activeTargets
    messages { sent queued held heldForModeration failed cancelled clicks }
  }
}
"""
STATS_TARGETS = """
query($campaign: String!) {
  campaignStats(campaign: $campaign) {
    targets {
      sent queued failed clicks
      byTarget { id name area sent queued failed clicks }
      byArea { area sent queued failed clicks }
    }
  }
}
"""
TARGET_MESSAGES = """
query($campaign: String!, $status: DeliveryStatus) {
  targetMessages(campaign: $campaign, status: $status) { id target status hold subject body }
}
"""
PUBLIC = """
query($id: Int, $area: String, $postcode: String) {
  actionPage(id: $id) {
    campaign {
      targets(area: $area, postcode: $postcode) { id externalId name area locale fields }
      mailToTarget { mode editable askReplyTo selection subject body }
      targetStats {
        sent queued failed clicks
        byTarget { id name area sent queued }
        byArea { area sent queued }
      }
    }
  }
}
"""


def _input(mtt: Mtt, targets: list[dict[str, Any]], missing: str = "KEEP") -> dict[str, Any]:
    return {"input": {"campaign": mtt.campaign.name, "targets": targets, "missing": missing}}


def _target(external_id: str, *emails: str, **more: Any) -> dict[str, Any]:
    return {
        "externalId": external_id,
        "name": more.pop("name", f"Target {external_id}"),
        "emails": [{"email": e} for e in emails],
        **more,
    }


async def _targets(session: AsyncSession) -> list[dict[str, Any]]:
    return await rows(
        session,
        """
        SELECT t.external_id, t.name, t.active,
               array(SELECT e.email || ':' || e.status FROM target_email e
                     WHERE e.target_id = t.id ORDER BY e.email) AS emails
        FROM target t ORDER BY t.campaign_id, t.external_id
        """,
    )


async def _token(session: AsyncSession, org: Any, scopes: list[str] | None = None) -> str:
    _, token = await f.make_token(session, org, scopes)
    return token


class TestUpsertTargets:
    async def test_the_lead_creates_updates_and_replaces(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given
        token = await _token(session, mtt.lead)
        # when the lead lists the mayor (renamed, a second address) and a new senator
        body = await gql(
            UPSERT,
            _input(
                mtt,
                [
                    _target(
                        "mayor",
                        "mayor@targets.example.org",
                        "Office@Targets.Example.org",
                        name="Mayor Ann Smith",
                        area="Riverside",
                        fields={"party": "Greens", "photo": "https://example.org/ann.jpg"},
                        postcodes=["75 0", "751"],
                    ),
                    _target("senator", "senator@targets.example.org", area="Capital"),
                ],
                missing="REPLACE",
            ),
            token=token,
        )
        # then the answer lists the campaign's targets; the unlisted ones are gone
        result = body["data"]["upsertTargets"]
        assert result["__typename"] == "UpsertTargetsSuccess", result
        by_id = {t["externalId"]: t for t in result["targets"]}
        assert sorted(by_id) == ["mayor", "senator"]
        assert by_id["mayor"]["name"] == "Mayor Ann Smith"
        assert by_id["mayor"]["postcodes"] == ["750", "751"]
        assert by_id["mayor"]["emails"] == [
            {"email": "mayor@targets.example.org", "status": "ACTIVE"},
            {"email": "office@targets.example.org", "status": "ACTIVE"},
        ]
        assert [t["external_id"] for t in await _targets(session)] == ["mayor", "senator"]

    async def test_a_target_with_messages_is_disabled_not_deleted(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given Ada wrote to the mayor and the board (two pending messages)
        await gql(PROCA_SIGN, proca_variables(mtt.page, "ada@example.net"))
        token = await _token(session, mtt.lead)
        # when the campaign replaces its list with the minister alone
        body = await gql(
            UPSERT,
            _input(mtt, [_target("minister", "minister@targets.example.org")], "REPLACE"),
            token=token,
        )
        # then the two keep their history, disabled; their messages are cancelled
        active = {t["externalId"]: t["active"] for t in body["data"]["upsertTargets"]["targets"]}
        assert active == {"board": False, "mayor": False, "minister": True}
        assert {m["status"] for m in await messages(session)} == {"cancelled"}

    async def test_a_coordinator_manages_targets(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        token = await _token(session, mtt.coordinator)
        body = await gql(
            UPSERT, _input(mtt, [_target("mep", "mep@targets.example.org")]), token=token
        )
        assert body["data"]["upsertTargets"]["__typename"] == "UpsertTargetsSuccess"
        assert "mep" in [t["external_id"] for t in await _targets(session)]

    async def test_a_partner_is_denied_and_nothing_changes(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given
        before = await _targets(session)
        token = await _token(session, mtt.partner)
        # when the partner tries to swap the mayor's address for its own
        body = await gql(
            UPSERT,
            _input(mtt, [_target("mayor", "inbox@partner.example.org")], "REPLACE"),
            token=token,
        )
        # then
        [error] = body["data"]["upsertTargets"]["errors"]
        assert (error["field"], error["code"]) == (["input", "campaign"], "PERMISSION_DENIED")
        assert await _targets(session) == before

    async def test_another_org_finds_no_campaign(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        before = await _targets(session)
        stranger = await f.make_org(session)
        token = await _token(session, stranger)
        body = await gql(
            UPSERT, _input(mtt, [_target("mayor", "inbox@stranger.example.org")]), token=token
        )
        [error] = body["data"]["upsertTargets"]["errors"]
        assert (error["field"], error["code"]) == (["input", "campaign"], "NOT_FOUND")
        assert await _targets(session) == before

    async def test_anonymous_and_narrow_tokens_are_refused_at_the_field(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        before = await _targets(session)
        narrow = await _token(session, mtt.lead, ["stats:read"])
        variables = _input(mtt, [_target("mayor", "x@example.org")])
        anonymous = await gql(UPSERT, variables)
        scoped = await gql(UPSERT, variables, token=narrow)
        assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert scoped["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert await _targets(session) == before

    async def test_hostile_or_bad_input_changes_nothing(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given
        before = await _targets(session)
        token = await _token(session, mtt.lead)
        # when one upsert holds every mistake at once
        body = await gql(
            UPSERT,
            _input(
                mtt,
                [
                    _target("ok", "ok@targets.example.org"),
                    _target("has space", "a@targets.example.org"),
                    _target("bad-mail", "not an address"),
                    _target("leaky", "l@targets.example.org", fields={"Email": "l@x.org"}),
                    _target("ok", "again@targets.example.org"),
                    _target("many", *[f"m{i}@targets.example.org" for i in range(21)]),
                ],
            ),
            token=token,
        )
        # then every problem is reported with its path, and nothing was written
        errors = body["data"]["upsertTargets"]["errors"]
        assert {(tuple(e["field"]), e["code"]) for e in errors} == {
            (("input", "targets", "1", "externalId"), "INVALID"),
            (("input", "targets", "2", "emails", "0", "email"), "INVALID"),
            (("input", "targets", "3", "fields"), "INVALID"),
            (("input", "targets", "4", "externalId"), "INVALID"),
            (("input", "targets", "5", "emails"), "INVALID"),
        }
        assert await _targets(session) == before

    async def test_a_line_break_in_a_name_is_refused(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        before = await _targets(session)
        token = await _token(session, mtt.lead)
        name = "Mayor\r\nBcc: victim@example.org"
        body = await gql(
            UPSERT, _input(mtt, [_target("mayor", "m@example.org", name=name)]), token=token
        )
        assert body["data"] is None or body["data"]["upsertTargets"]["errors"]
        assert await _targets(session) == before


class TestPublicReads:
    async def test_targets_by_area_and_postcode_without_any_address(
        self, mtt: Mtt, gql: GraphQLClient
    ) -> None:
        # when a widget asks, anonymously
        everyone = await gql(PUBLIC, {"id": mtt.page.id})
        riverside = await gql(PUBLIC, {"id": mtt.page.id, "area": "riverside"})
        by_postcode = await gql(PUBLIC, {"id": mtt.page.id, "postcode": "751 23"})
        # then
        names = [t["id"] for t in everyone["data"]["actionPage"]["campaign"]["targets"]]
        assert sorted(names) == ["board", "mayor", "minister"]
        area = riverside["data"]["actionPage"]["campaign"]["targets"]
        assert sorted(t["id"] for t in area) == ["board", "mayor"]
        postcode = by_postcode["data"]["actionPage"]["campaign"]["targets"]
        assert [t["id"] for t in postcode] == ["board"]
        for body in (everyone, riverside, by_postcode):
            assert "@" not in str(body["data"])

    async def test_the_list_file_for_procas_widget(
        self, mtt: Mtt, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given Proca's widget configured with component.email.listUrl = {hub}/targets/{page}.json
        await session.flush()
        # when
        response = await client.get(f"/targets/{mtt.page.id}.json")
        missing = await client.get("/targets/999999999.json")
        # then its targets, each with the procaid the widget sends back, and no address
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
        listed = response.json()
        assert [(t["procaid"], t["name"], t["area"]) for t in listed] == [
            ("mayor", "Mayor Ann", "Riverside"),
            ("minister", "Minister Bob", "Capital"),
            ("board", "Water Board", "Riverside"),
        ]
        assert "@" not in response.text
        assert missing.status_code == 404

    async def test_no_public_type_can_name_an_address(self, gql: GraphQLClient) -> None:
        from schema.schema import schema

        for name in ("PublicTarget", "PublicMailToTarget", "MailToTargetStats", "TargetCount"):
            fields = schema.get_type_by_name(name).fields  # type: ignore[union-attr]
            assert not [f for f in fields if "mail" in f.name.lower() and f.name != "mailto"]

    async def test_counters_per_target_and_area(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given two signers, one of them testing (tests are not counted)
        await gql(PROCA_SIGN, proca_variables(mtt.page, "ada@example.net"))
        await gql(PROCA_SIGN, proca_variables(mtt.page, "bob@example.net", testing=True))
        # when
        body = await gql(PUBLIC, {"id": mtt.page.id})
        # then
        stats = body["data"]["actionPage"]["campaign"]["targetStats"]
        assert (stats["sent"], stats["queued"], stats["failed"]) == (0, 2, 0)
        assert {t["id"]: t["queued"] for t in stats["byTarget"]} == {"board": 1, "mayor": 1}
        assert stats["byArea"] == [{"area": "Riverside", "sent": 0, "queued": 2}]

    async def test_the_email_step_settings_and_template(self, mtt: Mtt, gql: GraphQLClient) -> None:
        body = await gql(PUBLIC, {"id": mtt.page.id})
        step = body["data"]["actionPage"]["campaign"]["mailToTarget"]
        assert step == {
            "mode": "SERVER",
            "editable": True,
            "askReplyTo": False,
            "selection": "CHOOSE",
            "subject": "Please act, {target}",
            "body": "Dear {target},\n\nPlease act.",
        }


class TestManagersReads:
    async def test_addresses_and_counts_for_managers_null_for_others(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given
        await gql(PROCA_SIGN, proca_variables(mtt.page, "ada@example.net"))
        lead = await _token(session, mtt.lead)
        coordinator = await _token(session, mtt.coordinator)
        partner = await _token(session, mtt.partner)
        stranger = await _token(session, await f.make_org(session))
        variables = {"campaign": mtt.campaign.name}
        # when
        answers = {
            who: (await gql(CAMPAIGN_TARGETS, variables, token=token))["data"]["campaignTargets"]
            for who, token in (
                ("lead", lead),
                ("coordinator", coordinator),
                ("partner", partner),
                ("stranger", stranger),
            )
        }
        # then
        assert answers["partner"] is None
        assert answers["stranger"] is None
        assert answers["lead"] == answers["coordinator"]
        mayor = next(t for t in answers["lead"] if t["externalId"] == "mayor")
        assert mayor["emails"] == [
            {"email": "mayor@targets.example.org", "status": "ACTIVE", "softBounces": 0}
        ]
        assert mayor["messages"] == {"sent": 0, "queued": 1, "held": 0, "clicks": 0}

    async def test_counts_per_area_with_the_moderation_queue_for_managers_only(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given Ada writes to the two Riverside targets, then the campaign moderates every
        # message and Bob writes to the minister (Capital), then the campaign pauses
        await gql(PROCA_SIGN, proca_variables(mtt.page, "ada@example.net"))
        await session.execute(
            text("UPDATE mail_to_target SET moderation = 'all' WHERE campaign_id = :c"),
            {"c": mtt.campaign.id},
        )
        bob = proca_variables(mtt.page, "bob@example.net")
        bob["action"]["mtt"]["targets"] = ["minister"]
        await gql(PROCA_SIGN, bob)
        lead = await _token(session, mtt.lead)
        await gql(PAUSE, {"campaign": mtt.campaign.name}, token=lead)
        coordinator = await _token(session, mtt.coordinator)
        partner = await _token(session, mtt.partner)
        stranger = await _token(session, await f.make_org(session))
        variables = {"campaign": mtt.campaign.name}
        # when
        answers = {
            who: (await gql(TARGET_AREAS, variables, token=token))["data"]["campaignTargetAreas"]
            for who, token in (
                ("lead", lead),
                ("coordinator", coordinator),
                ("partner", partner),
                ("stranger", stranger),
            )
        }
        # then: held for moderation and held by the pause, told apart
        assert answers["partner"] is None
        assert answers["stranger"] is None
        assert answers["lead"] == answers["coordinator"]
        zero = {"sent": 0, "queued": 0, "failed": 0, "cancelled": 0, "clicks": 0}
        assert answers["lead"] == [
            {
                "area": "Capital",
                "targets": 1,
                "activeTargets": 1,
                "messages": {**zero, "held": 1, "heldForModeration": 1},
            },
            {
                "area": "Riverside",
                "targets": 2,
                "activeTargets": 2,
                "messages": {**zero, "held": 2, "heldForModeration": 0},
            },
        ]
        minister = next(
            t
            for t in (await gql(CAMPAIGN_TARGETS_HELD, variables, token=lead))["data"][
                "campaignTargets"
            ]
            if t["externalId"] == "minister"
        )
        assert minister["messages"] == {"held": 1, "heldForModeration": 1}

    async def test_every_partner_reads_the_public_counters_in_its_stats(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given
        await gql(PROCA_SIGN, proca_variables(mtt.page, "ada@example.net"))
        partner = await _token(session, mtt.partner, ["stats:read"])
        stranger = await _token(session, await f.make_org(session), ["stats:read"])
        variables = {"campaign": mtt.campaign.name}
        # when
        mine = (await gql(STATS_TARGETS, variables, token=partner))["data"]["campaignStats"]
        theirs = (await gql(STATS_TARGETS, variables, token=stranger))["data"]
        public = (await gql(PUBLIC, {"id": mtt.page.id}))["data"]["actionPage"]["campaign"]
        # then: the public counters (no address), the same as the widget's
        assert mine["targets"]["queued"] == 2
        assert mine["targets"]["byArea"] == [
            {"area": "Riverside", "sent": 0, "queued": 2, "failed": 0, "clicks": 0}
        ]
        assert {t["id"] for t in mine["targets"]["byTarget"]} == {"mayor", "board"}
        shown = {k: public["targetStats"][k] for k in ("sent", "queued", "failed", "clicks")}
        assert shown == {k: mine["targets"][k] for k in shown}
        assert "@" not in str(mine)
        assert theirs["campaignStats"] is None

    async def test_a_campaign_without_targets_has_no_target_counters(
        self, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        lead = await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        token = await _token(session, lead)
        body = await gql(STATS_TARGETS, {"campaign": campaign.name}, token=token)
        assert body["data"]["campaignStats"] == {"targets": None}

    async def test_the_moderation_queue_shows_texts_to_managers_only(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given every message is moderated
        await session.execute(
            text("UPDATE mail_to_target SET moderation = 'all' WHERE campaign_id = :c"),
            {"c": mtt.campaign.id},
        )
        await gql(PROCA_SIGN, proca_variables(mtt.page, "ada@example.net"))
        lead = await _token(session, mtt.lead)
        partner = await _token(session, mtt.partner)
        variables = {"campaign": mtt.campaign.name, "status": "HELD"}
        # when
        queue = (await gql(TARGET_MESSAGES, variables, token=lead))["data"]["targetMessages"]
        hidden = (await gql(TARGET_MESSAGES, variables, token=partner))["data"]["targetMessages"]
        # then
        assert hidden is None
        assert [(m["target"], m["hold"], m["subject"]) for m in queue] == [
            ("board", "moderation", "Save the river"),
            ("mayor", "moderation", "Save the river"),
        ]
        # and a partner cannot approve them; the lead rejects one
        ids = [m["id"] for m in queue]
        denied = await gql(
            MODERATE,
            {"campaign": mtt.campaign.name, "ids": ids, "approve": True},
            token=partner,
        )
        assert denied["data"]["moderateTargetMessages"]["errors"] == [{"code": "PERMISSION_DENIED"}]
        assert {m["status"] for m in await messages(session)} == {"held"}
        done = await gql(
            MODERATE,
            {"campaign": mtt.campaign.name, "ids": ids[:1], "approve": False},
            token=lead,
        )
        assert done["data"]["moderateTargetMessages"] == {
            "__typename": "ModerateTargetMessagesSuccess",
            "count": 1,
        }

    async def test_moderating_another_campaigns_message_decides_nothing(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession, keyring: Keyring
    ) -> None:
        # given a held message in another campaign of another lead
        other_lead = await f.make_org(session)
        other = await f.make_campaign(session, other_lead)
        page = await f.make_page(session, other_lead, other)
        target = await f.make_target(session, other, "theirs")
        supporter = await f.make_supporter(session, page, keyring)
        held = await f.make_target_message(session, target, supporter, page, keyring)
        token = await _token(session, mtt.lead)
        # when our lead names its id in our campaign
        body = await gql(
            MODERATE,
            {"campaign": mtt.campaign.name, "ids": [held.id], "approve": False},
            token=token,
        )
        # then
        assert body["data"]["moderateTargetMessages"]["count"] == 0
        [row] = await rows(
            session,
            "SELECT payload IS NOT NULL AS kept FROM target_message WHERE id = :i",
            i=held.id,
        )
        assert row == {"kept": True}


class TestSettingsPauseCancel:
    async def test_a_bad_window_is_refused_with_every_field(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        token = await _token(session, mtt.lead)
        body = await gql(
            SETTINGS,
            {
                "input": {
                    "campaign": mtt.campaign.name,
                    "window": {
                        "dailyStart": "18:00",
                        "dailyEnd": "09:00",
                        "timezone": "Mars/Olympus",
                        "hourlyCap": 0,
                        "startsOn": "2030-03-10",
                        "endsOn": "2030-03-01",
                    },
                }
            },
            token=token,
        )
        errors = body["data"]["updateMailToTarget"]["errors"]
        assert sorted(e["field"][-1] for e in errors) == [
            "dailyEnd",
            "endsOn",
            "hourlyCap",
            "timezone",
        ]

    async def test_the_lead_sets_a_window(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        token = await _token(session, mtt.lead)
        body = await gql(
            SETTINGS,
            {
                "input": {
                    "campaign": mtt.campaign.name,
                    "mode": "BOTH",
                    "window": {
                        "dailyStart": "09:00",
                        "dailyEnd": "17:30",
                        "timezone": "Europe/Brussels",
                        "hourlyCap": 20,
                    },
                }
            },
            token=token,
        )
        assert body["data"]["updateMailToTarget"]["settings"] == {
            "mode": "BOTH",
            "editable": True,
            "window": {
                "dailyStart": "09:00",
                "dailyEnd": "17:30",
                "timezone": "Europe/Brussels",
                "hourlyCap": 20,
            },
        }

    async def test_a_partner_can_neither_pause_nor_cancel(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given a pending message to the mayor
        await gql(PROCA_SIGN, proca_variables(mtt.page, "ada@example.net"))
        partner = await _token(session, mtt.partner)
        campaign = mtt.campaign.name
        # when
        paused = await gql(PAUSE, {"campaign": campaign}, token=partner)
        cancelled = await gql(CANCEL, {"campaign": campaign, "target": "mayor"}, token=partner)
        # then
        assert paused["data"]["pauseMailToTarget"]["errors"] == [{"code": "PERMISSION_DENIED"}]
        assert cancelled["data"]["cancelTargetMessages"]["errors"][0]["code"] == (
            "PERMISSION_DENIED"
        )
        assert {m["status"] for m in await messages(session)} == {"pending"}

    async def test_the_lead_cancels_a_targets_messages(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        await gql(PROCA_SIGN, proca_variables(mtt.page, "ada@example.net"))
        token = await _token(session, mtt.lead)
        campaign = mtt.campaign.name
        body = await gql(CANCEL, {"campaign": campaign, "target": "mayor"}, token=token)
        unknown = await gql(CANCEL, {"campaign": campaign, "target": "nobody"}, token=token)
        assert body["data"]["cancelTargetMessages"]["cancelled"] == 1
        assert unknown["data"]["cancelTargetMessages"]["errors"] == [
            {"field": ["input", "target"], "code": "NOT_FOUND"}
        ]
        assert [(m["target"], m["status"]) for m in await messages(session)] == [
            ("mayor", "cancelled"),
            ("board", "pending"),
        ]

    async def test_pausing_holds_what_is_pending(
        self, mtt: Mtt, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        await gql(PROCA_SIGN, proca_variables(mtt.page, "ada@example.net"))
        token = await _token(session, mtt.coordinator)
        body = await gql(PAUSE, {"campaign": mtt.campaign.name}, token=token)
        assert body["data"]["pauseMailToTarget"]["settings"] == {"paused": True}
        assert {(m["status"], m["hold"]) for m in await messages(session)} == {("held", "paused")}
