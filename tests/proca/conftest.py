"""Proca's clients against the hub's /api: a coalition, and a client posting as Proca's do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import ActionPage, Campaign, Org, PageStatus
from tests import factories as f

HUB_CONFIG = {"heading": "Sign for clean rivers", "counter": {"goal": 1000}}
PROCA_CONFIG = {
    "journey": ["Petition", "Share"],
    "layout": {"primaryColor": "#1a7f37"},
    "component": {"consent": {"email": {}}},
    "locales": {"fr": {"title": "Rivières propres"}},
    "portal": [],
}


@dataclass
class Coalition:
    lead: Org
    partner: Org
    outsider: Org
    campaign: Campaign
    lead_page: ActionPage
    partner_page: ActionPage
    partner_draft: ActionPage
    partner_token: str  # pages:write, as Proca's CLI needs
    outsider_token: str


@pytest.fixture
async def coalition(session: AsyncSession) -> Coalition:
    lead = await f.make_org(session)
    partner = await f.make_org(
        session,
        settings={
            "privacy_policy_url": "https://partner.example.org/privacy",
            "double_opt_in": True,
            "reply_to": "office@partner.example.org",
            "embed_hosts": ["partner.example.org"],
        },
    )
    outsider = await f.make_org(session)
    campaign = await f.make_campaign(session, lead, config={"proca": {"lang": "fr"}})
    await f.make_partnership(session, campaign, partner)
    lead_page = await f.make_page(session, lead, campaign)
    partner_page = await f.make_page(
        session,
        partner,
        campaign,
        locale="fr",
        config={**HUB_CONFIG, "proca": PROCA_CONFIG},
        thank_you_mail=True,
    )
    draft = await f.make_page(session, partner, campaign, status=PageStatus.DRAFT)
    _, partner_token = await f.make_token(session, partner, ["pages:write"])
    _, outsider_token = await f.make_token(session, outsider)
    return Coalition(
        lead,
        partner,
        outsider,
        campaign,
        lead_page,
        partner_page,
        draft,
        partner_token,
        outsider_token,
    )


class Proca:
    """Posts to /api as Proca's CLI and widget do (operationName, Bearer token)."""

    def __init__(self, http: httpx.AsyncClient, session: AsyncSession) -> None:
        self.http = http
        self.session = session

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        operation: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        await self.session.flush()
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        body = {"query": query, "operationName": operation, "variables": variables or {}}
        response = await self.http.post("/api", content=json.dumps(body), headers=headers)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def get(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """A GET read, as Proca's counter sends it."""
        await self.session.flush()
        response = await self.http.get(
            "/api", params={"query": query, "variables": json.dumps(variables)}
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


@pytest.fixture
def proca(client: httpx.AsyncClient, session: AsyncSession) -> Proca:
    return Proca(client, session)
