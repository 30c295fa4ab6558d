"""The dashboard's other reads (issue 13): the audit log for owners, each connector's health,
and retrying one connector's failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import DeliveryStatus, Org, StaffRole, utcnow
from tests import factories as f
from tests.conftest import GraphQLClient

LOGIN = """
mutation($input: LoginInput!) {
  login(input: $input) { ... on LoginSuccess { tokens { accessToken } } }
}
"""
AUDIT = """
query($org: String!, $action: String, $after: String, $first: Int!) {
  auditLog(org: $org, action: $action, after: $after, first: $first) {
    nodes { id action actorEmail actorToken subjectType subjectId details }
    endCursor
  }
}
"""
HEALTH = """
query($org: String!) {
  connectors(org: $org) {
    name
    health { deliveredLastDay lastDeliveredAt pending retrying waiting failed lastError }
  }
}
"""
RETRY = """
mutation($org: String!, $connector: Int) {
  retryDeliveries(input: {org: $org, connector: $connector}) {
    ... on RetryDeliveriesSuccess { count }
  }
}
"""
PASSWORD = "correct horse battery"


async def staff_token(
    gql: GraphQLClient, session: AsyncSession, org: Org, role: StaffRole
) -> tuple[str, str]:
    user = await f.make_user(session, password=PASSWORD)
    await f.make_staffer(session, org, user, role)
    body = await gql(LOGIN, {"input": {"email": user.email, "password": PASSWORD}})
    return user.email, body["data"]["login"]["tokens"]["accessToken"]


class TestAuditLog:
    async def test_owners_read_who_did_what_newest_first(
        self, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given an owner who changes a staff role and asks for an export
        org = await f.make_org(session)
        campaign = await f.make_campaign(session, org)
        email, token = await staff_token(gql, session, org, StaffRole.OWNER)
        export = (
            "mutation($c: String!) { exportContacts(input: {campaign: $c}) "
            "{ ... on ExportContactsSuccess { url } } }"
        )
        assert "errors" not in await gql(export, {"c": campaign.name}, token=token)
        _api_token, plaintext = await f.make_token(session, org, ["contacts:export"], name="crm")
        assert "errors" not in await gql(export, {"c": campaign.name}, token=plaintext)
        # when
        body = await gql(AUDIT, {"org": org.name, "first": 10}, token=token)
        # then both exports are there, the newest first, with who did them
        nodes = body["data"]["auditLog"]["nodes"]
        assert [(n["action"], n["actorEmail"], n["actorToken"]) for n in nodes] == [
            ("contacts.export", None, "crm"),
            ("contacts.export", email, None),
        ]
        assert nodes[0]["details"] == {"format": "csv", "flagged": False}
        # paging and the action filter
        older = await gql(
            AUDIT,
            {"org": org.name, "first": 1, "after": str(nodes[0]["id"])},
            token=token,
        )
        assert [n["actorEmail"] for n in older["data"]["auditLog"]["nodes"]] == [email]
        assert older["data"]["auditLog"]["endCursor"] == str(nodes[1]["id"])
        none = await gql(AUDIT, {"org": org.name, "first": 5, "action": "partner."}, token=token)
        assert none["data"]["auditLog"]["nodes"] == []

    async def test_nobody_else_reads_it(self, gql: GraphQLClient, session: AsyncSession) -> None:
        org, other = await f.make_org(session), await f.make_org(session)
        await f.make_audit_event(session, org, "partner.remove", details={"org": "x"})
        await f.make_audit_event(session, other, "partner.remove", details={"org": "y"})
        for role in (StaffRole.DATA_MANAGER, StaffRole.CAMPAIGN_MANAGER, StaffRole.VIEWER):
            _, token = await staff_token(gql, session, org, role)
            body = await gql(AUDIT, {"org": org.name, "first": 5}, token=token)
            assert body["data"]["auditLog"]["nodes"] == [], role
        # an owner of another org, naming this one
        _, token = await staff_token(gql, session, other, StaffRole.OWNER)
        body = await gql(AUDIT, {"org": org.name, "first": 5}, token=token)
        assert body["data"]["auditLog"]["nodes"] == []
        # a token without audit:read
        _, plaintext = await f.make_token(session, org, ["stats:read"])
        body = await gql(AUDIT, {"org": org.name, "first": 5}, token=plaintext)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    async def test_a_supporters_internal_id_is_never_shown(
        self, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # the same supporter id in two orgs' logs would let them match their lists
        org = await f.make_org(session)
        await f.make_audit_event(
            session,
            org,
            "supporter.erasure_requested",
            subject_type="supporter",
            subject_id=4242,
            details={"tools_told": 1},
        )
        _, token = await staff_token(gql, session, org, StaffRole.OWNER)
        body = await gql(AUDIT, {"org": org.name, "first": 5}, token=token)
        [node] = body["data"]["auditLog"]["nodes"]
        assert node["subjectType"] == "supporter"
        assert node["subjectId"] is None


class TestConnectorHealth:
    async def test_counts_last_error_and_retry_of_one_connector(
        self, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given two connectors: one healthy, one failing with retries and given-up deliveries
        org = await f.make_org(session)
        now = utcnow()
        good = await f.make_connector(session, org, name="crm")
        bad = await f.make_connector(session, org, name="mailing")
        for hours in (1, 2, 30):
            await f.make_delivery(
                session,
                org,
                good,
                status=DeliveryStatus.DELIVERED.value,
                attempts=1,
                delivered_at=now - timedelta(hours=hours),
            )
        await f.make_delivery(session, org, bad, status=DeliveryStatus.PENDING.value)
        await f.make_delivery(
            session,
            org,
            bad,
            status=DeliveryStatus.PENDING.value,
            attempts=2,
            last_error="HTTP 503 from the target",
            updated_at=now - timedelta(minutes=5),
        )
        for minutes in (10, 1):
            await f.make_delivery(
                session,
                org,
                bad,
                status=DeliveryStatus.FAILED.value,
                attempts=8,
                last_error=f"gave up: HTTP 401 ({minutes})",
                updated_at=now - timedelta(minutes=minutes),
            )
        await f.make_delivery(session, org, bad, status=DeliveryStatus.WAITING.value)
        _, token = await f.make_token(session, org, ["connectors:write"])
        # when
        body = await gql(HEALTH, {"org": org.name}, token=token)
        # then
        health: dict[str, Any] = {c["name"]: c["health"] for c in body["data"]["connectors"]}
        assert health["crm"]["deliveredLastDay"] == 2
        assert health["crm"]["lastDeliveredAt"] is not None
        assert (health["crm"]["pending"], health["crm"]["failed"]) == (0, 0)
        assert health["crm"]["lastError"] is None
        assert {k: health["mailing"][k] for k in ("pending", "retrying", "waiting", "failed")} == {
            "pending": 2,
            "retrying": 1,
            "waiting": 1,
            "failed": 2,
        }
        assert health["mailing"]["lastError"] == "gave up: HTTP 401 (1)"
        assert health["mailing"]["deliveredLastDay"] == 0
        # when the failing connector's deliveries are retried
        retry = await gql(RETRY, {"org": org.name, "connector": good.id}, token=token)
        assert retry["data"]["retryDeliveries"] == {"count": 0}
        retry = await gql(RETRY, {"org": org.name, "connector": bad.id}, token=token)
        assert retry["data"]["retryDeliveries"] == {"count": 2}
        body = await gql(HEALTH, {"org": org.name}, token=token)
        health = {c["name"]: c["health"] for c in body["data"]["connectors"]}
        assert (health["mailing"]["failed"], health["mailing"]["pending"]) == (0, 4)

    async def test_another_orgs_connectors_stay_hidden(
        self, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        org, other = await f.make_org(session), await f.make_org(session)
        connector = await f.make_connector(session, org)
        await f.make_delivery(
            session, org, connector, status=DeliveryStatus.FAILED.value, last_error="x"
        )
        _, token = await f.make_token(session, other, ["connectors:write"])
        body = await gql(HEALTH, {"org": org.name}, token=token)
        assert body["data"]["connectors"] == []
        retry = await gql(RETRY, {"org": org.name, "connector": connector.id}, token=token)
        assert "count" not in (retry["data"]["retryDeliveries"] or {})
