"""orgs/scoping.py: campaigns readable through an org's active or left partnerships."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.identity.service import user_subject
from orgs.models import PartnerRole, PartnershipStatus, StaffRole
from orgs.scoping import scope_for
from permissions.roles import Permission
from tests import factories as f


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

    async def test_invited_org_cannot_read_a_removed_one_keeps_its_own(
        self, session: AsyncSession
    ) -> None:
        # given
        lead, invited, removed = [await f.make_org(session) for _ in range(3)]
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, invited, status=PartnershipStatus.INVITED)
        await f.make_partnership(session, campaign, removed, status=PartnershipStatus.REMOVED)
        found = {}
        for org in (invited, removed):
            user = await f.make_user(session)
            await f.make_staffer(session, org, user, StaffRole.OWNER)
            scope = scope_for(await user_subject(session, user))
            # when
            found[org.name] = await scope.campaign_membership(
                session, campaign.name, Permission.READ_CONTACTS
            )
        # then: a removed org stays the controller of what it collected, with no role
        assert found[invited.name] is None
        kept = found[removed.name]
        assert kept is not None
        assert kept.role is None
        assert kept.reading_role == PartnerRole.PARTNER.value


class TestCampaignNames:
    async def test_a_bare_name_two_of_my_campaigns_share_is_ambiguous(
        self, session: AsyncSession
    ) -> None:
        # given: my org takes part in two tenants' campaigns called "clean-rivers"
        mine, a, b = [await f.make_org(session) for _ in range(3)]
        first = await f.make_campaign(session, a, "clean-rivers")
        second = await f.make_campaign(session, b, "clean-rivers")
        for campaign in (first, second):
            await f.make_partnership(session, campaign, mine)
        user = await f.make_user(session)
        await f.make_staffer(session, mine, user, StaffRole.OWNER)
        scope = scope_for(await user_subject(session, user))
        # when
        bare = await scope.campaign_membership(session, "clean-rivers", Permission.VIEW_STATS)
        qualified = await scope.campaign_membership(
            session, f"{b.name}/clean-rivers", Permission.VIEW_STATS
        )
        # then
        assert bare is None
        assert qualified is not None
        assert qualified.campaign.id == second.id

    async def test_another_tenants_campaign_of_the_same_name_is_invisible(
        self, session: AsyncSession
    ) -> None:
        # given
        mine, other = await f.make_org(session), await f.make_org(session)
        own = await f.make_campaign(session, mine, "clean-rivers")
        await f.make_campaign(session, other, "clean-rivers")
        user = await f.make_user(session)
        await f.make_staffer(session, mine, user, StaffRole.OWNER)
        scope = scope_for(await user_subject(session, user))
        # when
        found = await scope.campaign_membership(session, "clean-rivers", Permission.VIEW_STATS)
        foreign = await scope.campaign_membership(
            session, f"{other.name}/clean-rivers", Permission.VIEW_STATS
        )
        # then
        assert found is not None
        assert found.campaign.id == own.id
        assert foreign is None
