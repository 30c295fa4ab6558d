"""Connectors and deliveries through GraphQL, and /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.app import create_app
from hub.db import UnitOfWork
from hub.settings import Settings
from orgs.crypto import Keyring
from orgs.delivery import outbound
from orgs.models import ConnectorKind, DeliveryStatus, Org
from tests import factories as f
from tests.conftest import GraphQLClient
from tests.delivery.conftest import whsec
from tests.delivery.receiver import Receiver
from tests.delivery.test_outbound import HOSTILE_HOSTS

DELIVERY_DOC = Path(__file__).resolve().parents[2] / "docs" / "delivery.md"

ADD = """
mutation($input: AddConnectorInput!) {
  addConnector(input: $input) {
    __typename
    ... on AddConnectorSuccess { connector { id kind name enabled config } }
    ... on AddConnectorErrors { errors { field code message } }
  }
}
"""

DELIVERIES = """
query($org: String!, $status: DeliveryStatus, $after: String) {
  deliveries(org: $org, status: $status, first: 2, after: $after) {
    nodes { id event status attempts lastError } endCursor
  }
}
"""

RETRY = """
mutation($org: String!) {
  retryDeliveries(input: {org: $org}) { ... on RetryDeliveriesSuccess { count } }
}
"""

TEST = """
mutation($id: Int!) {
  testConnector(input: {id: $id}) {
    __typename
    ... on TestConnectorSuccess { delivery { id event status connectorId attempts lastError } }
    ... on TestConnectorErrors { errors { code } }
  }
}
"""


def _webhook(org: Org, url: str) -> dict[str, Any]:
    return {
        "org": org.name,
        "kind": "webhook",
        "name": "CRM bridge",
        "config": {"url": url},
        "secrets": {"secrets": [whsec()]},
    }


#: Each kind with an org-chosen host: (kind, field, config for a URL, secrets)
KIND_URLS: list[tuple[str, str, Any, dict[str, Any]]] = [
    ("webhook", "url", lambda u: {"url": u}, {"secrets": ["whsec_" + "QUJDREVGR0hJSktMTU5PUA=="]}),
    ("civicrm", "baseUrl", lambda u: {"baseUrl": u}, {"apiKey": "civi-key-123"}),
    (
        "mailchimp",
        "baseUrl",
        lambda u: {"listId": "a1b2c3d4e5", "baseUrl": u},
        {"apiKey": "0123456789abcdef0123456789abcdef-us6"},
    ),
    ("actionnetwork", "baseUrl", lambda u: {"baseUrl": u}, {"apiKey": "an-key-0123456789"}),
]


@pytest.fixture
async def strict_gql(
    settings: Settings, uow: UnitOfWork, session: AsyncSession
) -> AsyncIterator[GraphQLClient]:
    """The API as production runs it: private targets not allowed (the test settings allow)."""
    strict = settings.model_copy(update={"allow_private_targets": False})
    assert not strict.allow_private_targets
    app = create_app(strict, uow=uow)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield GraphQLClient(http, session)


async def _add(
    gql: GraphQLClient, session: AsyncSession, kind: str, config: Any, secrets: Any
) -> dict[str, Any]:
    org = await f.make_org(session)
    _, token = await f.make_token(session, org, ["connectors:write"])
    variables = {
        "input": {"org": org.name, "kind": kind, "name": kind, "config": config, "secrets": secrets}
    }
    body = await gql(ADD, variables, token=token)
    result: dict[str, Any] = body["data"]["addConnector"]
    return result


class TestOutboundGuardOnAdd:
    @pytest.mark.parametrize(("kind", "field", "config", "secrets"), KIND_URLS)
    @pytest.mark.parametrize("host", HOSTILE_HOSTS)
    async def test_non_public_hosts_are_refused_on_the_url_field(
        self,
        strict_gql: GraphQLClient,
        session: AsyncSession,
        host: str,
        kind: str,
        field: str,
        config: Any,
        secrets: dict[str, Any],
    ) -> None:
        # when
        result = await _add(strict_gql, session, kind, config(f"http://{host}:8080/x"), secrets)
        # then
        assert result["errors"] == [
            {
                "field": ["input", "config", field],
                "code": "INVALID_CONFIG",
                "message": "Only hosts on the public internet can be reached from the hub",
            }
        ]
        assert (await session.execute(text("SELECT count(*) FROM connector"))).scalar_one() == 0

    @pytest.mark.parametrize(("kind", "field", "config", "secrets"), KIND_URLS)
    @pytest.mark.parametrize(
        "url",
        [
            "http://evil@127.0.0.1/",
            "http://crm.example.org\\@127.0.0.1/",
            "http://1.2.3.999/",
            "gopher://crm.example.org/",
        ],
    )
    async def test_url_tricks_are_refused(
        self,
        strict_gql: GraphQLClient,
        session: AsyncSession,
        url: str,
        kind: str,
        field: str,
        config: Any,
        secrets: dict[str, Any],
    ) -> None:
        result = await _add(strict_gql, session, kind, config(url), secrets)
        assert [(e["field"], e["code"]) for e in result["errors"]] == [
            (["input", "config", field], "INVALID_CONFIG")
        ]

    @pytest.mark.parametrize(("kind", "field", "config", "secrets"), KIND_URLS)
    async def test_a_name_resolving_to_a_private_address_is_refused(
        self,
        strict_gql: GraphQLClient,
        session: AsyncSession,
        monkeypatch: pytest.MonkeyPatch,
        kind: str,
        field: str,
        config: Any,
        secrets: dict[str, Any],
    ) -> None:
        # given: DNS answering a public and a private address for the name
        looked_up: list[str] = []

        def resolver(host: str, port: int) -> list[str]:
            looked_up.append(host)
            return ["93.184.216.34", "10.1.2.3"]

        monkeypatch.setattr(outbound, "system_resolver", resolver)
        # when
        result = await _add(strict_gql, session, kind, config("https://crm.example.org/"), secrets)
        # then
        assert looked_up == ["crm.example.org"]
        assert [(e["field"], e["code"]) for e in result["errors"]] == [
            (["input", "config", field], "INVALID_CONFIG")
        ]

    async def test_a_public_name_is_accepted(
        self, strict_gql: GraphQLClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(outbound, "system_resolver", lambda host, port: ["93.184.216.34"])
        result = await _add(
            strict_gql,
            session,
            "civicrm",
            {"baseUrl": "https://crm.example.org"},
            {"apiKey": "k" * 8},
        )
        assert result["__typename"] == "AddConnectorSuccess"

    @pytest.mark.parametrize(
        "url",
        ["smtp://u:p@127.0.0.1:587", "smtps://u:p@[::1]", "smtp://u:p@0x7f.1", "smtp://localhost"],
    )
    async def test_an_org_smtp_host_is_checked_too(
        self, strict_gql: GraphQLClient, session: AsyncSession, url: str
    ) -> None:
        result = await _add(strict_gql, session, "smtp", {}, {"url": url})
        assert [(e["field"], e["code"]) for e in result["errors"]] == [
            (["input", "config", "url"], "INVALID_CONFIG")
        ]

    async def test_the_operator_setting_allows_the_stand_ins_on_loopback(
        self, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # the test settings turn HUB_ALLOW_PRIVATE_TARGETS on, as for an on-premise CRM
        for kind, _, config, secrets in KIND_URLS:
            result = await _add(gql, session, kind, config("http://127.0.0.1:8080/x"), secrets)
            assert result["__typename"] == "AddConnectorSuccess", result


class TestConnectors:
    async def test_a_webhook_is_added_with_its_secret_encrypted(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring
    ) -> None:
        # given
        org = await f.make_org(session)
        _, token = await f.make_token(session, org, ["connectors:write"])
        # when
        body = await gql(ADD, {"input": _webhook(org, "https://crm.example.org/hook")}, token=token)
        # then
        connector = body["data"]["addConnector"]["connector"]
        assert connector["config"] == {"url": "https://crm.example.org/hook"}
        assert "secrets" not in connector
        stored = (
            await session.execute(text("SELECT secrets_encrypted FROM connector"))
        ).scalar_one()
        assert b"whsec_" not in bytes(stored)
        assert keyring.decrypt_json(bytes(stored))["secrets"][0].startswith("whsec_")

    async def test_a_bad_configuration_is_explained(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        org = await f.make_org(session)
        _, token = await f.make_token(session, org, ["connectors:write"])
        bad = {**_webhook(org, "ftp://crm"), "secrets": {"secrets": ["plain"]}}
        # when
        body = await gql(ADD, {"input": bad}, token=token)
        # then
        errors = body["data"]["addConnector"]["errors"]
        assert {(tuple(e["field"]), e["code"]) for e in errors} == {
            (("input", "config", "url"), "INVALID_CONFIG"),
            (("input", "config", "secrets"), "INVALID_CONFIG"),
        }

    async def test_another_orgs_connector_cannot_be_tested(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        owner = await f.make_org(session)
        connector = await f.make_connector(session, owner)
        stranger = await f.make_org(session)
        _, token = await f.make_token(session, stranger, ["connectors:write"])
        # when
        body = await gql(TEST, {"id": connector.id}, token=token)
        # then
        assert body["data"]["testConnector"] == {
            "__typename": "TestConnectorErrors",
            "errors": [{"code": "NOT_FOUND"}],
        }

    async def test_test_connector_queues_a_test_delivery_and_sends_nothing(
        self, session: AsyncSession, gql: GraphQLClient, keyring: Keyring, receiver: Receiver
    ) -> None:
        # given
        org = await f.make_org(session)
        connector = await f.make_connector(
            session,
            org,
            ConnectorKind.WEBHOOK,
            config={"url": receiver.url},
            secrets_encrypted=keyring.encrypt_json({"secrets": [whsec()]}),
        )
        await f.make_connector(session, org, config={"url": receiver.url})  # not tested
        _, token = await f.make_token(session, org, ["connectors:write"])
        # when
        body = await gql(TEST, {"id": connector.id}, token=token)
        # then: the request only wrote an outbox row; the worker sends it (test_pipeline.py)
        result = body["data"]["testConnector"]
        assert result["__typename"] == "TestConnectorSuccess"
        delivery = result["delivery"]
        assert delivery == {
            "id": delivery["id"],
            "event": "connector_test",
            "status": "PENDING",
            "connectorId": connector.id,
            "attempts": 0,
            "lastError": None,
        }
        rows = await session.execute(
            text("SELECT connector_id, supporter_id, action_id, event, status FROM delivery")
        )
        assert [tuple(r) for r in rows] == [(connector.id, None, None, "connector_test", "pending")]
        assert receiver.requests == []


class TestDeliveries:
    async def test_listing_paging_and_retrying_failed_deliveries(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        org = await f.make_org(session)
        other = await f.make_org(session)
        connector = await f.make_connector(session, org)
        for _ in range(3):
            await f.make_delivery(
                session, org, connector, status=DeliveryStatus.FAILED.value, last_error="HTTP 410"
            )
        await f.make_delivery(
            session, other, await f.make_connector(session, other), status="failed"
        )
        _, token = await f.make_token(session, org, ["connectors:write"])
        # when
        page1 = await gql(DELIVERIES, {"org": org.name, "status": "FAILED"}, token=token)
        cursor = page1["data"]["deliveries"]["endCursor"]
        page2 = await gql(
            DELIVERIES, {"org": org.name, "status": "FAILED", "after": cursor}, token=token
        )
        retried = await gql(RETRY, {"org": org.name}, token=token)
        # then
        assert len(page1["data"]["deliveries"]["nodes"]) == 2
        assert len(page2["data"]["deliveries"]["nodes"]) == 1
        assert page1["data"]["deliveries"]["nodes"][0]["lastError"] == "HTTP 410"
        assert retried["data"]["retryDeliveries"] == {"count": 3}
        statuses = await session.execute(text("SELECT org_id, status FROM delivery ORDER BY id"))
        assert {(r.org_id, r.status) for r in statuses} == {
            (org.id, "pending"),
            (other.id, "failed"),
        }

    async def test_a_viewer_token_cannot_list_deliveries(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        org = await f.make_org(session)
        _, token = await f.make_token(session, org, ["stats:read"])
        # when
        body = await gql(DELIVERIES, {"org": org.name}, token=token)
        # then
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


class TestMetrics:
    async def test_prometheus_metrics_include_the_outbox(
        self, session: AsyncSession, client: httpx.AsyncClient
    ) -> None:
        # given
        org = await f.make_org(session)
        await f.make_delivery(session, org, await f.make_connector(session, org), status="failed")
        await session.flush()
        # when
        response = await client.get("/metrics")
        # then
        assert response.status_code == 200
        assert 'hub_outbox_deliveries{status="failed"} 1' in response.text
        assert "hub_deliveries_delivered_total" in response.text
        assert "hub_stats_queued_actions " in response.text
        assert "hub_stats_rolled_up_total" in response.text


class TestDeliveryDoc:
    async def test_the_connector_example_runs(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        doc = DELIVERY_DOC.read_text()
        section = doc.split("## Configuring connectors", 1)[1].split("\n## ", 1)[0]
        [example] = list(section.split("```graphql\n")[1:])
        org = await f.make_org(session, "friends-of-the-delta")
        _, token = await f.make_token(session, org, ["connectors:write"])
        # when
        body = await gql(example.split("```", 1)[0], token=token)
        # then
        assert body["data"]["addConnector"]["connector"]["kind"] == "webhook"
