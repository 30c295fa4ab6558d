"""orgs/scoping.py: campaigns readable through an org's active or left partnerships."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from orgs.identity.service import user_subject
from orgs.models import Campaign, PartnerRole, PartnershipStatus, StaffRole
from orgs.scoping import Scope, scope_for
from permissions.roles import Permission
from tests import factories as f


async def _readable(session: AsyncSession, scope: Scope, name: str) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(Campaign)
        .where(
            col(Campaign.name) == name,
            scope.campaign_filter(col(Campaign.id), Permission.READ_CONTACTS),
        )
    )
    return int(result.scalar_one())


class TestCampaignMembership:
    async def test_partner_sees_campaign_with_its_role(self, session: AsyncSession) -> None:
        # given
        lead, partner = await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, partner, role=PartnerRole.COORDINATOR)
        user = await f.make_user(session)
        await f.make_staffer(session, partner, user, StaffRole.CAMPAIGN_MANAGER)
        scope = scope_for(await user_subject(session, user))
        # when
        membership = await scope.campaign_membership(
            session, campaign.name, Permission.MANAGE_PARTNERS
        )
        # then
        assert membership is not None
        assert membership.org_id == partner.id
        assert membership.role == PartnerRole.COORDINATOR.value

    async def test_outsider_gets_none(self, session: AsyncSession) -> None:
        # given
        lead, outsider = await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        user = await f.make_user(session)
        await f.make_staffer(session, outsider, user, StaffRole.OWNER)
        scope = scope_for(await user_subject(session, user))
        # when
        membership = await scope.campaign_membership(session, campaign.name, Permission.VIEW_STATS)
        # then
        assert membership is None
        assert await _readable(session, scope, campaign.name) == 0

    async def test_left_partner_keeps_reading_but_has_no_active_role(
        self, session: AsyncSession
    ) -> None:
        # given
        lead, partner = await f.make_org(session), await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, partner, status=PartnershipStatus.LEFT)
        user = await f.make_user(session)
        await f.make_staffer(session, partner, user, StaffRole.DATA_MANAGER)
        scope = scope_for(await user_subject(session, user))
        # when
        membership = await scope.campaign_membership(
            session, campaign.name, Permission.READ_CONTACTS
        )
        # then
        assert membership is not None
        assert membership.role is None
        assert membership.reading_role == PartnerRole.PARTNER.value
        assert await _readable(session, scope, campaign.name) == 1

    async def test_invited_or_removed_org_cannot_read(self, session: AsyncSession) -> None:
        # given
        lead, invited, removed = [await f.make_org(session) for _ in range(3)]
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, invited, status=PartnershipStatus.INVITED)
        await f.make_partnership(session, campaign, removed, status=PartnershipStatus.REMOVED)
        for org in (invited, removed):
            user = await f.make_user(session)
            await f.make_staffer(session, org, user, StaffRole.OWNER)
            scope = scope_for(await user_subject(session, user))
            # when
            membership = await scope.campaign_membership(
                session, campaign.name, Permission.READ_CONTACTS
            )
            # then
            assert membership is None
            assert await _readable(session, scope, campaign.name) == 0
