"""A campaign run through the API alone: consent wording, pages, roles, org settings, dates,
frozen counters (issue 12). Every finding of the issue is a test here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import Org, PartnerRole, utcnow
from tests import factories as f
from tests.conftest import GraphQLClient

ADD_CAMPAIGN = """
mutation($org: String!, $name: String!) {
  addCampaign(input: {org: $org, name: $name, title: "Rivers"}) {
    __typename ... on AddCampaignErrors { errors { field code message } }
  }
}
"""
ADD_PAGE = """
mutation($campaign: String!, $org: String!, $name: String!) {
  addActionPage(input: {campaign: $campaign, org: $org, name: $name}) {
    __typename
    ... on AddActionPageSuccess { page { id name status } }
    ... on AddActionPageErrors { errors { field code message } }
  }
}
"""
LAUNCH = """
mutation($page: String!) {
  requestLaunch(input: {page: $page}) {
    __typename ... on RequestLaunchSuccess { page { status } }
  }
}
"""
OPEN = """
mutation($campaign: String!) {
  updateCampaign(input: {campaign: $campaign, status: LIVE}) { __typename }
}
"""
PUBLIC = """
query($id: Int) {
  actionPage(id: $id) {
    status
    org { privacyPolicyUrl }
    campaign { consent { version optInText } stats { supporterCount } }
    stats { supporterCount }
  }
}
"""
SIGN = """
mutation($id: Int!, $email: String!, $version: String) {
  addActionContact(actionPageId: $id, action: {actionType: "signature"},
      contact: {firstName: "Ada", email: $email},
      privacy: {optIn: true, consentVersion: $version}) {
    contactRef
  }
}
"""
UPDATE_PAGE = """
mutation($input: UpdateActionPageInput!) {
  updateActionPage(input: $input) {
    __typename
    ... on UpdateActionPageSuccess { page { locale doubleOptIn thankYouMail config templates } }
    ... on UpdateActionPageErrors { errors { field code message } }
  }
}
"""


async def _api_campaign(
    session: AsyncSession, gql: GraphQLClient, name: str = "rivers"
) -> tuple[Org, str, int]:
    """A lead org that created a campaign and a page with the API only, then opened it."""
    org = await f.make_org(session)
    _, token = await f.make_token(session, org)
    created = await gql(ADD_CAMPAIGN, {"org": org.name, "name": name}, token=token)
    assert created["data"]["addCampaign"]["__typename"] == "AddCampaignSuccess", created
    page = await gql(
        ADD_PAGE, {"campaign": name, "org": org.name, "name": f"{org.name}/{name}"}, token=token
    )
    page_id = page["data"]["addActionPage"]["page"]["id"]
    launched = await gql(LAUNCH, {"page": f"{org.name}/{name}"}, token=token)
    assert launched["data"]["requestLaunch"]["page"]["status"] == "live"  # no approval needed
    await gql(OPEN, {"campaign": name}, token=token)
    return org, token, page_id


class TestAnApiCampaignTakesSignatures:
    async def test_the_advertised_consent_version_signs(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given: a campaign created through the API, no SQL
        _, _, page_id = await _api_campaign(session, gql)
        # when: the widget reads the wording and sends its version back
        read = await gql(PUBLIC, {"id": page_id})
        consent = read["data"]["actionPage"]["campaign"]["consent"]
        signed = await gql(SIGN, {"id": page_id, "email": "a@example.net", "version": "v1"})
        # then
        assert consent["version"] == "v1"
        assert "{org}" in consent["optInText"]
        assert "errors" not in signed, signed
        wording = await session.execute(text("SELECT wording_version FROM consent"))
        assert wording.scalar_one() == "v1"

    async def test_the_no_js_form_of_an_api_campaign_records_a_signature(
        self, session: AsyncSession, gql: GraphQLClient, client: httpx.AsyncClient
    ) -> None:
        # given
        _, _, page_id = await _api_campaign(session, gql)
        form = await client.get(f"/act/{page_id}")
        version = form.text.split('name="consentVersion" value="', 1)[1].split('"', 1)[0]
        stamp = form.text.split('name="_t" value="', 1)[1].split('"', 1)[0]
        # when
        posted = await client.post(
            f"/act/{page_id}",
            data={
                "firstName": "Ada",
                "email": "form@example.net",
                "optIn": "1",
                "optInShown": "1",
                "consentVersion": version,
                "_t": stamp,
            },
        )
        # then
        assert version == "v1"
        assert posted.status_code == 200, posted.text
        rows = await session.execute(text("SELECT count(*) FROM action"))
        assert rows.scalar_one() == 1


class TestUpdateActionPage:
    async def test_config_is_checked_against_the_widgets_own_schema(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        org, token, _ = await _api_campaign(session, gql)
        page = f"{org.name}/rivers"
        # when: the hub-only key the docs once listed, and a bad colour
        bad = await gql(
            UPDATE_PAGE,
            {"input": {"page": page, "config": {"thankYouEmail": True, "theme": {"primary": "x"}}}},
            token=token,
        )
        good = await gql(
            UPDATE_PAGE,
            {
                "input": {
                    "page": page,
                    "config": {"heading": "Signez", "consent": {"leadOptIn": False}},
                    "locale": "fr",
                    "doubleOptIn": True,
                    "thankYouMail": True,
                    "templates": {"fr": {"thank_you": {"subject": "Merci {{ first_name }}"}}},
                }
            },
            token=token,
        )
        # then
        errors = bad["data"]["updateActionPage"]["errors"]
        assert {tuple(e["field"]) for e in errors} == {
            ("input", "config", "thankYouEmail"),
            ("input", "config", "theme", "primary"),
        }
        assert all(e["code"] == "INVALID" for e in errors)
        saved = good["data"]["updateActionPage"]["page"]
        assert saved["locale"] == "fr"
        assert saved["doubleOptIn"] is True
        assert saved["thankYouMail"] is True
        assert saved["config"] == {"heading": "Signez", "consent": {"leadOptIn": False}}

    async def test_a_broken_template_is_a_field_error_and_nothing_changes(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        org, token, _ = await _api_campaign(session, gql)
        page = f"{org.name}/rivers"
        # when
        body = await gql(
            UPDATE_PAGE,
            {
                "input": {
                    "page": page,
                    "locale": "de",
                    "templates": {"fr": {"thank_you": {"text": "{% if %}"}, "other": {}}},
                }
            },
            token=token,
        )
        # then
        fields = {tuple(e["field"]) for e in body["data"]["updateActionPage"]["errors"]}
        assert fields == {
            ("input", "templates", "fr", "thank_you", "text"),
            ("input", "templates", "fr", "other"),
        }
        locale = await session.execute(
            text("SELECT locale FROM action_page WHERE name = :n"), {"n": page}
        )
        assert locale.scalar_one() == "en"

    async def test_another_orgs_page_is_not_found(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        org, _, _ = await _api_campaign(session, gql)
        other = await f.make_org(session)
        _, other_token = await f.make_token(session, other)
        # when
        body = await gql(
            UPDATE_PAGE,
            {"input": {"page": f"{org.name}/rivers", "locale": "fr"}},
            token=other_token,
        )
        # then
        assert body["data"]["updateActionPage"]["errors"][0]["code"] == "NOT_FOUND"

    async def test_the_thank_you_mail_is_planned_after_a_signature(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        org, token, page_id = await _api_campaign(session, gql)
        await gql(
            UPDATE_PAGE,
            {"input": {"page": f"{org.name}/rivers", "thankYouMail": True}},
            token=token,
        )
        # when
        await gql(SIGN, {"id": page_id, "email": "thanks@example.net"})
        # then
        events = await session.execute(text("SELECT event FROM delivery"))
        assert list(events.scalars()) == ["thank_you_mail"]


ADD_VERSION = """
mutation($input: AddConsentVersionInput!) {
  addConsentVersion(input: $input) {
    __typename
    ... on AddConsentVersionSuccess { campaign { consentVersions { version locale current } } }
    ... on AddConsentVersionErrors { errors { field code } }
  }
}
"""


class TestConsentVersions:
    async def test_a_french_page_shows_and_records_the_french_wording(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        org, token, page_id = await _api_campaign(session, gql)
        await gql(
            UPDATE_PAGE, {"input": {"page": f"{org.name}/rivers", "locale": "fr"}}, token=token
        )
        wording = {
            "campaign": "rivers",
            "version": "2026-12",
            "texts": [
                {"locale": "fr", "optIn": "Oui, {org} peut m'écrire."},
                {"locale": "en", "optIn": "Yes, {org} may write to me."},
            ],
        }
        # when
        added = await gql(ADD_VERSION, {"input": wording}, token=token)
        again = await gql(ADD_VERSION, {"input": wording}, token=token)
        read = await gql(PUBLIC, {"id": page_id})
        await gql(SIGN, {"id": page_id, "email": "fr@example.net", "version": "2026-12"})
        # then
        versions = added["data"]["addConsentVersion"]["campaign"]["consentVersions"]
        assert {(v["version"], v["locale"], v["current"]) for v in versions} >= {
            ("2026-12", "fr", True),
            ("2026-12", "en", True),
            ("v1", "en", False),
        }
        assert again["data"]["addConsentVersion"]["errors"] == [
            {"field": ["input", "version"], "code": "ALREADY_EXISTS"}
        ]
        consent = read["data"]["actionPage"]["campaign"]["consent"]
        assert consent == {"version": "2026-12", "optInText": "Oui, {org} peut m'écrire."}
        recorded = await session.execute(text("SELECT wording_version FROM consent"))
        assert recorded.scalar_one() == "2026-12"

    async def test_a_partner_cannot_change_the_wording(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        org, _, _ = await _api_campaign(session, gql)
        partner = await f.make_org(session)
        campaign = (
            await session.execute(text("SELECT id FROM campaign WHERE org_id = :o"), {"o": org.id})
        ).scalar_one()
        from orgs.models import Campaign

        row = await session.get(Campaign, campaign)
        assert row is not None
        await f.make_partnership(session, row, partner)
        _, token = await f.make_token(session, partner)
        # when
        body = await gql(
            ADD_VERSION,
            {
                "input": {
                    "campaign": "rivers",
                    "version": "sneaky",
                    "texts": [{"locale": "en", "optIn": "Anything goes"}],
                }
            },
            token=token,
        )
        # then
        assert body["data"]["addConsentVersion"]["errors"][0]["code"] == "PERMISSION_DENIED"


CHANGE_ROLE = """
mutation($campaign: String!, $org: String!, $role: PartnerRoleInput!) {
  changePartnerRole(input: {campaign: $campaign, org: $org, role: $role}) {
    __typename
    ... on ChangePartnerRoleSuccess { partnership { role } }
    ... on ChangePartnerRoleErrors { errors { field code } }
  }
}
"""


class TestChangePartnerRole:
    async def test_the_lead_makes_a_partner_coordinator_and_back(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        lead, partner = await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, partner)
        _, lead_token = await f.make_token(session, lead)
        _, partner_token = await f.make_token(session, partner)
        variables: dict[str, Any] = {"campaign": campaign.name, "org": partner.name}
        # when
        up = await gql(CHANGE_ROLE, {**variables, "role": "COORDINATOR"}, token=lead_token)
        self_promote = await gql(CHANGE_ROLE, {**variables, "role": "PARTNER"}, token=partner_token)
        down = await gql(CHANGE_ROLE, {**variables, "role": "PARTNER"}, token=lead_token)
        lead_role = await gql(CHANGE_ROLE, {**variables, "role": "LEAD"}, token=lead_token)
        # then
        assert up["data"]["changePartnerRole"]["partnership"]["role"] == PartnerRole.COORDINATOR
        assert self_promote["data"]["changePartnerRole"]["errors"][0]["code"] == (
            "PERMISSION_DENIED"
        )
        assert down["data"]["changePartnerRole"]["partnership"]["role"] == "partner"
        assert lead_role["data"]["changePartnerRole"]["errors"] == [
            {"field": ["input", "role"], "code": "INVALID"}
        ]


UPDATE_ORG = """
mutation($input: UpdateOrgInput!) {
  updateOrg(input: $input) {
    __typename
    ... on UpdateOrgSuccess { org { privacyPolicyUrl embedHosts senderName replyTo doubleOptIn } }
    ... on UpdateOrgErrors { errors { field code } }
  }
}
"""


class TestUpdateOrg:
    async def test_settings_are_saved_and_used(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        org, token, page_id = await _api_campaign(session, gql)
        # when
        saved = await gql(
            UPDATE_ORG,
            {
                "input": {
                    "org": org.name,
                    "privacyPolicyUrl": "https://rivers.example/privacy",
                    "embedHosts": ["Rivers.Example"],
                    "senderName": "Rivers",
                    "replyTo": "Team@Rivers.example",
                    "doubleOptIn": True,
                }
            },
            token=token,
        )
        read = await gql(PUBLIC, {"id": page_id})
        elsewhere = await gql(
            SIGN,
            {"id": page_id, "email": "e@example.net"},
            headers={"origin": "https://evil.example"},
        )
        # then
        assert saved["data"]["updateOrg"]["org"] == {
            "privacyPolicyUrl": "https://rivers.example/privacy",
            "embedHosts": ["rivers.example"],
            "senderName": "Rivers",
            "replyTo": "Team@rivers.example",
            "doubleOptIn": True,
        }
        assert read["data"]["actionPage"]["org"]["privacyPolicyUrl"] == (
            "https://rivers.example/privacy"
        )
        assert elsewhere["errors"][0]["extensions"]["code"] == "ORIGIN_NOT_ALLOWED"

    async def test_bad_values_are_field_errors_and_nothing_changes(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        org = await f.make_org(session)
        _, token = await f.make_token(session, org)
        before = dict(org.settings)
        # when
        body = await gql(
            UPDATE_ORG,
            {
                "input": {
                    "org": org.name,
                    "privacyPolicyUrl": "javascript:alert(1)",
                    "embedHosts": ["ok.example", "not a host"],
                    "replyTo": "nobody",
                }
            },
            token=token,
        )
        # then
        assert {tuple(e["field"]) for e in body["data"]["updateOrg"]["errors"]} == {
            ("input", "privacyPolicyUrl"),
            ("input", "embedHosts", "1"),
            ("input", "replyTo"),
        }
        await session.refresh(org)
        assert org.settings == before

    async def test_another_org_and_a_viewer_cannot(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        org, other = await f.make_org(session), await f.make_org(session)
        _, other_token = await f.make_token(session, other)
        _, narrow = await f.make_token(session, org, ["stats:read"])
        variables = {"input": {"org": org.name, "senderName": "Hijack"}}
        # when
        foreign = await gql(UPDATE_ORG, variables, token=other_token)
        scoped = await gql(UPDATE_ORG, variables, token=narrow)
        # then
        assert foreign["data"]["updateOrg"]["errors"][0]["code"] == "NOT_FOUND"
        assert scoped["errors"][0]["extensions"]["code"] == "FORBIDDEN"


class TestDatesAndFrozenCounters:
    async def test_signatures_are_taken_between_the_dates_only(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        _, _, page_id = await _api_campaign(session, gql)
        now = utcnow()
        await session.execute(
            text("UPDATE campaign SET starts_at = :s"), {"s": now + timedelta(days=1)}
        )
        early = await gql(SIGN, {"id": page_id, "email": "early@example.net"})
        hidden = await gql(PUBLIC, {"id": page_id})
        await session.execute(
            text("UPDATE campaign SET starts_at = :s, ends_at = :e"),
            {"s": now - timedelta(days=2), "e": now - timedelta(days=1)},
        )
        late = await gql(SIGN, {"id": page_id, "email": "late@example.net"})
        closed = await gql(PUBLIC, {"id": page_id})
        # then
        assert early["errors"][0]["extensions"]["code"] == "PAGE_NOT_FOUND"
        assert hidden["data"]["actionPage"] is None
        assert late["errors"][0]["extensions"]["code"] == "PAGE_CLOSED"
        assert closed["data"]["actionPage"]["status"] == "CLOSED"

    async def test_an_end_before_the_start_is_refused(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        _, token, _ = await _api_campaign(session, gql)
        # when
        body = await gql(
            """mutation { updateCampaign(input: {campaign: "rivers",
                 startsAt: "2027-02-01T00:00:00Z", endsAt: "2027-01-01T00:00:00Z"}) {
                 ... on UpdateCampaignErrors { errors { field code } } } }""",
            token=token,
        )
        # then
        assert body["data"]["updateCampaign"]["errors"] == [
            {"field": ["input", "endsAt"], "code": "INVALID"}
        ]

    async def test_frozen_counters_hold_until_thawed(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given: one signature, then the lead freezes the counters
        _, token, page_id = await _api_campaign(session, gql)
        await gql(SIGN, {"id": page_id, "email": "one@example.net"})
        freeze = 'mutation($f: Boolean!) { freezeCounters(input: {campaign: "rivers", frozen: $f})'
        freeze += " { __typename } }"
        await gql(freeze, {"f": True}, token=token)
        # when
        await gql(SIGN, {"id": page_id, "email": "two@example.net"})
        frozen = await gql(PUBLIC, {"id": page_id})
        await gql(freeze, {"f": False}, token=token)
        thawed = await gql(PUBLIC, {"id": page_id})
        # then
        page = frozen["data"]["actionPage"]
        assert page["campaign"]["stats"]["supporterCount"] == 1
        assert page["stats"]["supporterCount"] == 1
        assert thawed["data"]["actionPage"]["campaign"]["stats"]["supporterCount"] == 2
