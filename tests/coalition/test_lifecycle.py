"""Coalition lifecycle mutations through GraphQL: typed results, both gates, audit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from orgs.models import (
    ActionPage,
    AuditEvent,
    Org,
    PageStatus,
    PartnerRole,
    Partnership,
    PartnershipStatus,
)
from tests import factories as f
from tests.conftest import GraphQLClient

RESULT = """
  __typename
  ... on %(op)sErrors { errors { field code message } }
"""


def mutation(op: str, selection: str) -> str:
    name = op[0].lower() + op[1:]
    return (
        f"mutation($input: {op}Input!) {{ {name}(input: $input) {{"
        + RESULT % {"op": op}
        + f" ... on {op}Success {{ {selection} }} }} }}"
    )


PARTNERSHIP = "partnership { orgId role status delivery }"
PAGE = "page { name locale status config }"
CAMPAIGN = "campaign { name title status goal }"


async def audit_count(session: AsyncSession) -> int:
    result = await session.execute(select(func.count()).select_from(AuditEvent))
    return int(result.scalar_one())


async def partnership(session: AsyncSession, campaign_id: int, org: Org) -> Partnership:
    result = await session.execute(
        select(Partnership).where(
            col(Partnership.campaign_id) == campaign_id, col(Partnership.org_id) == org.id
        )
    )
    row = result.scalar_one()
    await session.refresh(row)
    return row


async def call(
    gql: GraphQLClient, op: str, selection: str, token: str, **input: Any
) -> dict[str, Any]:
    name = op[0].lower() + op[1:]
    body = await gql(mutation(op, selection), {"input": input}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"][name]
    return result


class TestAddCampaign:
    async def test_org_starts_campaign_as_lead_and_it_is_audited(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        lead = await f.make_org(session)
        _, token = await f.make_token(session, lead, ["campaigns:write"])
        before = await audit_count(session)
        # when
        result = await call(
            gql, "AddCampaign", CAMPAIGN, token, org=lead.name, name="save-bees", title="Bees"
        )
        # then
        assert result["__typename"] == "AddCampaignSuccess"
        assert result["campaign"]["status"] == "draft"
        assert await audit_count(session) == before + 1

    async def test_for_another_org_looks_not_found(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        mine, theirs = await f.make_org(session), await f.make_org(session)
        _, token = await f.make_token(session, mine, ["campaigns:write"])
        before = await audit_count(session)
        # when
        result = await call(
            gql, "AddCampaign", CAMPAIGN, token, org=theirs.name, name="x-y", title="X"
        )
        # then
        assert result["errors"] == [
            {"field": ["input", "org"], "code": "NOT_FOUND", "message": "org not found"}
        ]
        assert await audit_count(session) == before

    async def test_token_without_scope_is_forbidden(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        lead = await f.make_org(session)
        _, token = await f.make_token(session, lead, ["contacts:read"])
        # when
        body = await gql(
            mutation("AddCampaign", CAMPAIGN),
            {"input": {"org": lead.name, "name": "n-1", "title": "T"}},
            token=token,
        )
        # then
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    async def test_anonymous_is_unauthenticated(self, gql: GraphQLClient) -> None:
        # when
        body = await gql(
            mutation("AddCampaign", CAMPAIGN), {"input": {"org": "a", "name": "b", "title": "c"}}
        )
        # then
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


class TestPartnerships:
    async def test_invite_accept_leave(self, session: AsyncSession, gql: GraphQLClient) -> None:
        # given
        lead, partner = await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        assert campaign.id is not None
        _, lead_token = await f.make_token(session, lead)
        _, partner_token = await f.make_token(session, partner)
        await f.make_page(session, partner, campaign, name=f"{partner.name}/old")
        # when
        invited = await call(
            gql, "InvitePartner", PARTNERSHIP, lead_token, campaign=campaign.name, org=partner.name
        )
        accepted = await call(
            gql,
            "AcceptPartnership",
            PARTNERSHIP,
            partner_token,
            campaign=campaign.name,
            org=partner.name,
        )
        left = await call(
            gql,
            "LeaveCampaign",
            PARTNERSHIP,
            partner_token,
            campaign=campaign.name,
            org=partner.name,
        )
        # then
        assert invited["partnership"]["status"] == "invited"
        assert accepted["partnership"]["status"] == "active"
        assert left["partnership"]["status"] == "left"
        page = (
            await session.execute(
                select(ActionPage).where(col(ActionPage.name) == f"{partner.name}/old")
            )
        ).scalar_one()
        await session.refresh(page)
        assert page.status == PageStatus.CLOSED.value

    async def test_plain_partner_cannot_invite_and_nothing_changes(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        lead, partner = await f.make_org(session), await f.make_org(session)
        other = await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, partner)
        _, token = await f.make_token(session, partner)
        before = await audit_count(session)
        # when
        result = await call(
            gql, "InvitePartner", PARTNERSHIP, token, campaign=campaign.name, org=other.name
        )
        # then
        assert result["errors"][0]["code"] == "PERMISSION_DENIED"
        assert await audit_count(session) == before

    async def test_outsider_sees_campaign_as_not_found(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        lead, outsider = await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        _, token = await f.make_token(session, outsider)
        # when
        result = await call(
            gql, "InvitePartner", PARTNERSHIP, token, campaign=campaign.name, org=outsider.name
        )
        # then
        assert result["errors"][0]["code"] == "NOT_FOUND"

    async def test_request_approve_and_reject(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        lead, a, b = [await f.make_org(session) for _ in range(3)]
        campaign = await f.make_campaign(session, lead)
        _, lead_token = await f.make_token(session, lead)
        tokens = {o.name: (await f.make_token(session, o))[1] for o in (a, b)}
        for org in (a, b):
            requested = await call(
                gql,
                "RequestToJoin",
                PARTNERSHIP,
                tokens[org.name],
                campaign=campaign.name,
                org=org.name,
            )
            assert requested["partnership"]["status"] == "requested"
        # when
        approved = await call(
            gql, "ApprovePartner", PARTNERSHIP, lead_token, campaign=campaign.name, org=a.name
        )
        rejected = await call(
            gql, "RejectPartner", PARTNERSHIP, lead_token, campaign=campaign.name, org=b.name
        )
        # then
        assert approved["partnership"]["status"] == "active"
        assert rejected["partnership"]["status"] == "rejected"

    async def test_remove_transfer_and_delivery(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        lead, a, b = [await f.make_org(session) for _ in range(3)]
        campaign = await f.make_campaign(session, lead)
        assert campaign.id is not None
        await f.make_partnership(session, campaign, a)
        await f.make_partnership(session, campaign, b)
        _, token = await f.make_token(session, lead)
        # when
        delivery = await call(
            gql, "SetDeliveryOrg", CAMPAIGN, token, campaign=campaign.name, org=a.name
        )
        moved = await call(
            gql, "SetDeliveryOrg", CAMPAIGN, token, campaign=campaign.name, org=lead.name
        )
        removed = await call(
            gql, "RemovePartner", PARTNERSHIP, token, campaign=campaign.name, org=b.name
        )
        transferred = await call(
            gql, "TransferLead", PARTNERSHIP, token, campaign=campaign.name, org=a.name
        )
        # then
        assert delivery["__typename"] == moved["__typename"] == "SetDeliveryOrgSuccess"
        assert (await partnership(session, campaign.id, lead)).delivery is True
        assert (await partnership(session, campaign.id, a)).delivery is False
        assert removed["partnership"]["status"] == "removed"
        assert transferred["partnership"]["role"] == "lead"
        old_lead = await partnership(session, campaign.id, lead)
        assert old_lead.role == PartnerRole.COORDINATOR.value
        assert old_lead.status == PartnershipStatus.ACTIVE.value


class TestPages:
    async def test_add_from_template_request_and_approve_launch(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        lead, partner = await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        await f.make_page(
            session, lead, campaign, locale="de", config={"layout": {"theme": "dark"}}
        )
        await f.make_partnership(session, campaign, partner)
        _, lead_token = await f.make_token(session, lead)
        _, partner_token = await f.make_token(session, partner)
        name = f"{partner.name}/sign"
        # when
        added = await call(
            gql,
            "AddActionPage",
            PAGE,
            partner_token,
            campaign=campaign.name,
            org=partner.name,
            name=name,
        )
        requested = await call(gql, "RequestLaunch", PAGE, partner_token, page=name)
        self_approved = await call(gql, "ApproveLaunch", PAGE, partner_token, page=name)
        approved = await call(gql, "ApproveLaunch", PAGE, lead_token, page=name, message="ok")
        paused = await call(gql, "PausePage", PAGE, partner_token, page=name)
        closed = await call(gql, "ClosePage", PAGE, partner_token, page=name)
        # then
        assert added["page"]["locale"] == "de"
        assert added["page"]["config"] == {"layout": {"theme": "dark"}}
        assert requested["page"]["status"] == "launch_requested"
        assert self_approved["errors"][0]["code"] == "PERMISSION_DENIED"
        assert approved["page"]["status"] == "live"
        assert paused["page"]["status"] == "paused"
        assert closed["page"]["status"] == "closed"

    async def test_reject_launch_needs_a_message(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        lead, partner = await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, partner, role=PartnerRole.COORDINATOR)
        page = await f.make_page(session, lead, campaign, status=PageStatus.LAUNCH_REQUESTED)
        _, coordinator_token = await f.make_token(session, partner)
        # when
        empty = await call(
            gql, "RejectLaunch", PAGE, coordinator_token, page=page.name, message=" "
        )
        rejected = await call(
            gql, "RejectLaunch", PAGE, coordinator_token, page=page.name, message="fix the text"
        )
        # then
        assert empty["errors"][0]["field"] == ["input", "message"]
        assert rejected["page"]["status"] == "draft"

    async def test_other_orgs_page_looks_not_found(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        lead, outsider = await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        page = await f.make_page(session, lead, campaign)
        _, token = await f.make_token(session, outsider)
        # when
        paused = await call(gql, "PausePage", PAGE, token, page=page.name)
        approved = await call(gql, "ApproveLaunch", PAGE, token, page=page.name)
        # then
        assert paused["errors"][0]["code"] == "NOT_FOUND"
        assert approved["errors"][0]["code"] == "NOT_FOUND"
