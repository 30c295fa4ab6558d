"""A real Hive Gateway on 127.0.0.1 over a live hub and a partner's subgraph.

The supergraph is composed by The Guild's composer (what Hive Gateway uses) from the hub's
``_service`` SDL and the partner's; queries through the gateway join both subgraphs, and
the hub's tenancy holds for what the gateway asks of it (the gateway passes the caller's
Authorization header on, and nothing else).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from orgs.models import PageStatus
from tests.factories import make_campaign, make_org, make_page, make_partnership, make_token
from tests.federation import partner_subgraph
from tests.federation.conftest import JS, Compose, LiveHub
from tests.servers import free_port, serve_in_thread

FEATURED = """
{ featuredPages { id name partnerNote campaign { title } org { name } } }
"""
PAGE = """
query($name: String) { actionPage(name: $name) { id name locale partnerNote org { title } } }
"""
ORG = """
query($name: String!) {
  org(name: $name) { name title crmSegment campaigns { id title partnerBudget } }
}
"""


@dataclass
class World:
    org: str
    campaign_id: int
    campaign_title: str
    live_page: str
    live_page_id: int
    draft_page_id: int
    token: str


@pytest.fixture(scope="module")
async def world(live_hub: LiveHub) -> World:
    async with live_hub.session() as session:
        lead = await make_org(session)
        partner = await make_org(session)
        campaign = await make_campaign(session, lead)
        await make_partnership(session, campaign, partner)
        live = await make_page(session, partner, campaign, locale="fr")
        draft = await make_page(session, partner, campaign, status=PageStatus.DRAFT)
        _, token = await make_token(session, partner, ["campaigns:read"])
        await session.commit()
    assert campaign.id is not None
    assert live.id is not None
    assert draft.id is not None
    return World(partner.name, campaign.id, campaign.title, live.name, live.id, draft.id, token)


@pytest.fixture(scope="module")
def partner_url(world: World) -> Iterator[str]:
    partner_subgraph.FEATURED[:] = [world.live_page_id, world.draft_page_id]
    with serve_in_thread(partner_subgraph.app(), name="partner-subgraph") as url:
        yield url + "/graphql"


@pytest.fixture(scope="module")
def gateway(
    node: str,
    compose: Compose,
    live_hub: LiveHub,
    partner_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The gateway's URL; its process (and its process group) ends with the module."""
    # given a supergraph of the live hub's own SDL and the partner's
    sdl = httpx.post(
        live_hub.url + "/graphql", json={"query": "{ _service { sdl } }"}, timeout=30
    ).json()["data"]["_service"]["sdl"]
    result = compose(
        [
            {"name": "hub", "url": live_hub.url + "/graphql", "sdl": sdl},
            {"name": "partner", "url": partner_url, "sdl": partner_subgraph.sdl()},
        ]
    )
    assert result["guild"]["errors"] == []
    folder = tmp_path_factory.mktemp("gateway")
    supergraph = folder / "supergraph.graphql"
    supergraph.write_text(result["guild"]["supergraph"], "utf-8")
    port = free_port()
    log = (folder / "gateway.log").open("wb")
    process = subprocess.Popen(
        [
            node,
            str(JS / "node_modules" / "@graphql-hive" / "gateway" / "dist" / "bin.js"),
            "supergraph",
            str(supergraph),
            "--config-path",
            str(JS / "gateway.config.mjs"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--disable-websockets",
        ],
        cwd=JS,
        env={**os.environ, "SUPERGRAPH": str(supergraph), "NODE_ENV": "production"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, process, folder / "gateway.log")
        yield url + "/graphql"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(15)
        log.close()


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll the gateway's readiness check; a stall detector, not a timing assertion."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the gateway exited:\n" + log.read_text("utf-8", "replace"))
        try:
            if httpx.get(url + "/readiness", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the gateway did not become ready:\n" + log.read_text("utf-8", "replace"))


@pytest.fixture
async def ask(gateway: str) -> AsyncIterator[Any]:
    async with httpx.AsyncClient(timeout=30) as http:

        async def post(
            query: str, variables: dict[str, Any] | None = None, token: str | None = None
        ) -> dict[str, Any]:
            headers = {"authorization": f"Bearer {token}"} if token else {}
            response = await http.post(
                gateway, json={"query": query, "variables": variables or {}}, headers=headers
            )
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        yield post


class TestGateway:
    async def test_a_partner_field_joins_a_hub_page(self, ask: Any, world: World) -> None:
        # when: the page comes from the hub, partnerNote from the partner's _entities
        body = await ask(PAGE, {"name": world.live_page})
        # then
        assert body == {
            "data": {
                "actionPage": {
                    "id": world.live_page_id,
                    "name": world.live_page,
                    "locale": "fr",
                    "partnerNote": f"featured on partner.example (page {world.live_page_id})",
                    "org": {"title": body["data"]["actionPage"]["org"]["title"]},
                }
            }
        }

    async def test_the_hub_resolves_the_partners_references_only_where_public(
        self, ask: Any, world: World
    ) -> None:
        # when: the partner lists a live and a draft page; the hub's _entities fills them in
        body = await ask(FEATURED)
        # then: the live page has the hub's fields; the draft page gets none of them
        live, draft = body["data"]["featuredPages"]
        assert live == {
            "id": world.live_page_id,
            "name": live["name"],
            "partnerNote": f"featured on partner.example (page {world.live_page_id})",
            "campaign": {"title": world.campaign_title},
            "org": {"name": world.org},
        }
        assert draft is None

    async def test_a_member_joins_its_org_and_campaigns(self, ask: Any, world: World) -> None:
        # when: the gateway passes the member's token to the hub
        body = await ask(ORG, {"name": world.org}, token=world.token)
        # then
        org = body["data"]["org"]
        assert org["crmSegment"] == f"segment-{world.org}"
        assert org["campaigns"] == [
            {
                "id": world.campaign_id,
                "title": world.campaign_title,
                "partnerBudget": 1000 + world.campaign_id,
            }
        ]

    async def test_without_a_token_the_hub_answers_no_org(self, ask: Any, world: World) -> None:
        # when
        body = await ask(ORG, {"name": world.org})
        # then
        assert body.get("data") in (None, {"org": None})
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
