"""OSDI fixtures: an org with a live page, its tokens, and a client posting as OSDI tools do."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import ActionPage, Campaign, Org
from tests import factories as f

SIGNATURES = "/osdi/v1/petitions/{page}/signatures"

BODY: dict[str, Any] = {
    "person": {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email_addresses": [{"address": "ada@example.net", "status": "subscribed"}],
        "postal_addresses": [{"postal_code": "75011", "locality": "Paris", "country": "FR"}],
        "phone_numbers": [{"number": "+33 6 12 34 56 78"}],
        "custom_fields": {"occupation": "engineer"},
    },
    "add_tags": ["volunteer", "rivers"],
    "comments": "For the rivers",
    "action_network:referrer_data": {
        "source": "newsletter",
        "referrer": "email",
        "website": "https://partner.example.org/rivers",
    },
    "triggers": {"autoresponse": {"enabled": True}},
}


def body(**changes: Any) -> dict[str, Any]:
    """A copy of ``BODY``; ``person__x=...`` sets person.x, ``x=...`` sets x (None: removed)."""
    out = copy.deepcopy(BODY)
    for key, value in changes.items():
        target, name = (out["person"], key[8:]) if key.startswith("person__") else (out, key)
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    return out


@dataclass
class World:
    org: Org
    lead: Org
    other: Org
    campaign: Campaign
    page: ActionPage
    other_page: ActionPage
    token: str  # signatures:write of org
    other_token: str  # signatures:write of the other org (a partner in the same campaign)


@pytest.fixture
async def world(session: AsyncSession) -> World:
    lead = await f.make_org(session)
    org = await f.make_org(session)
    other = await f.make_org(session)
    campaign = await f.make_campaign(session, lead)
    await f.make_partnership(session, campaign, org)
    await f.make_partnership(session, campaign, other)
    page = await f.make_page(session, org, campaign, thank_you_mail=True)
    other_page = await f.make_page(session, other, campaign)
    _, token = await f.make_token(session, org, ["signatures:write"])
    _, other_token = await f.make_token(session, other, ["signatures:write"])
    return World(org, lead, other, campaign, page, other_page, token, other_token)


class Osdi:
    def __init__(self, http: httpx.AsyncClient, session: AsyncSession) -> None:
        self.http = http
        self.session = session

    async def post(
        self,
        page: int | str | None,
        content: Any,
        *,
        token: str | None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> httpx.Response:
        await self.session.flush()
        sent = {"content-type": "application/json", **(headers or {})}
        if token is not None:
            sent["OSDI-API-Token"] = token
        data = raw if raw is not None else json.dumps(content).encode()
        return await self.http.post(SIGNATURES.format(page=page), content=data, headers=sent)


@pytest.fixture
def osdi(client: httpx.AsyncClient, session: AsyncSession) -> Osdi:
    return Osdi(client, session)
