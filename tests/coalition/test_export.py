"""exportContacts: a signed link streaming the org's own contacts, same scope, audited."""

from __future__ import annotations

import csv
import io
import json

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.crypto import Keyring
from tests import factories as f
from tests.coalition.helpers import sign
from tests.conftest import GraphQLClient

EXPORT = """
mutation($input: ExportContactsInput!) {
  exportContacts(input: $input) {
    __typename
    ... on ExportContactsSuccess { url expiresAt }
    ... on ExportContactsErrors { errors { field code } }
  }
}
"""


class TestExportContacts:
    async def test_csv_and_jsonl_hold_own_contacts_only(
        self,
        session: AsyncSession,
        gql: GraphQLClient,
        client: httpx.AsyncClient,
        keyring: Keyring,
    ) -> None:
        # given
        lead, a = await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, a)
        page = await f.make_page(session, a, campaign)
        await sign(session, keyring, page, a, lead=lead, email="mine@example.net")
        await sign(session, keyring, page, a, lead=lead, lead_opt_in=True, email="both@x.net")
        _, lead_token = await f.make_token(session, lead, ["contacts:export"])
        # when
        links = {}
        for fmt in ("CSV", "JSONL"):
            body = await gql(
                EXPORT, {"input": {"campaign": campaign.name, "format": fmt}}, token=lead_token
            )
            links[fmt] = body["data"]["exportContacts"]["url"]
        csv_text = (await client.get(links["CSV"])).text
        jsonl = (await client.get(links["JSONL"])).text
        # then
        rows = list(csv.DictReader(io.StringIO(csv_text)))
        assert [r["email"] for r in rows] == ["both@x.net"]
        assert [json.loads(line)["email"] for line in jsonl.splitlines()] == ["both@x.net"]

    async def test_rows_carry_the_consent_and_the_source_the_org_may_see(
        self,
        session: AsyncSession,
        gql: GraphQLClient,
        client: httpx.AsyncClient,
        keyring: Keyring,
    ) -> None:
        # given one person signing on the lead's page from a mailing, then on a partner's
        # page from the partner's secret channel, opting in to both
        lead, a = await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, a)
        lead_page = await f.make_page(session, lead, campaign)
        a_page = await f.make_page(session, a, campaign)
        email = "person@example.net"
        await sign(
            session,
            keyring,
            a_page,
            a,
            lead=lead,
            lead_opt_in=True,
            email=email,
            source="a-secret-list",
            medium="sms",
            campaign="a-private-utm",
        )
        await sign(
            session,
            keyring,
            lead_page,
            lead,
            email=email,
            source="newsletter",
            medium="email",
            campaign="launch",
        )
        _, lead_token = await f.make_token(session, lead, ["contacts:export"])
        _, a_token = await f.make_token(session, a, ["contacts:export"])
        rows = {}
        for org, token in (("lead", lead_token), ("a", a_token)):
            body = await gql(
                EXPORT, {"input": {"campaign": campaign.name, "format": "JSONL"}}, token=token
            )
            text = (await client.get(body["data"]["exportContacts"]["url"])).text
            [rows[org]] = [json.loads(line) for line in text.splitlines()]
        # then each org sees its consent and where the person came from on its own terms
        assert rows["a"]["consent"] == "given"
        assert rows["a"]["consent_method"] == "single"
        assert (rows["a"]["page"], rows["a"]["source"], rows["a"]["utm_campaign"]) == (
            a_page.name,
            "a-secret-list",
            "a-private-utm",
        )
        # the lead got its consent with the partner's page: it sees that action in full
        # (DESIGN §5), and only through it
        assert rows["lead"]["consent"] == "given"
        assert rows["lead"]["consent_version"] is not None
        assert rows["lead"]["page"] == a_page.name
        # and the CSV has the same columns
        body = await gql(
            EXPORT, {"input": {"campaign": campaign.name, "format": "CSV"}}, token=a_token
        )
        [row] = csv.DictReader(
            io.StringIO((await client.get(body["data"]["exportContacts"]["url"])).text)
        )
        assert row["source"] == "a-secret-list"
        assert row["consent_at"]

    async def test_tampered_link_is_refused(
        self, session: AsyncSession, gql: GraphQLClient, client: httpx.AsyncClient
    ) -> None:
        # given
        lead = await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        _, token = await f.make_token(session, lead, ["contacts:export"])
        body = await gql(EXPORT, {"input": {"campaign": campaign.name}}, token=token)
        url = body["data"]["exportContacts"]["url"]
        # when
        response = await client.get(url.replace(f"org={lead.id}", "org=1"))
        # then
        assert response.status_code == 403

    async def test_outsider_gets_not_found(self, session: AsyncSession, gql: GraphQLClient) -> None:
        # given
        lead, outsider = await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        _, token = await f.make_token(session, outsider, ["contacts:export"])
        # when
        body = await gql(EXPORT, {"input": {"campaign": campaign.name}}, token=token)
        # then
        assert body["data"]["exportContacts"]["errors"] == [
            {"field": ["input", "campaign"], "code": "NOT_FOUND"}
        ]
