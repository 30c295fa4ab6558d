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
