"""Both gates apply: the partnership role AND the staff role / token permission bits."""

from __future__ import annotations

import pytest

from orgs.models import PartnerRole, StaffRole
from permissions import policies
from permissions.policies import Allowed, Denied
from permissions.roles import ROLE_PERMISSIONS, permissions_for_scopes
from permissions.subject import Subject, SubjectKind

ORG = 7


def staff(role: StaffRole) -> Subject:
    return Subject(kind=SubjectKind.USER, user_id=1, grants={ORG: ROLE_PERMISSIONS[role]})


def token(*scopes: str) -> Subject:
    return Subject(
        kind=SubjectKind.TOKEN,
        token_id=1,
        grants={ORG: permissions_for_scopes(scopes)},
        scopes=scopes,
    )


class TestCanInvitePartner:
    @pytest.mark.parametrize("role", [PartnerRole.LEAD, PartnerRole.COORDINATOR])
    def test_lead_and_coordinator_with_campaign_manager_may(self, role: PartnerRole) -> None:
        # given / when
        decision = policies.can_invite_partner(staff(StaffRole.CAMPAIGN_MANAGER), ORG, role)
        # then
        assert decision == Allowed()

    def test_plain_partner_may_not(self) -> None:
        # given / when
        decision = policies.can_invite_partner(
            staff(StaffRole.OWNER), ORG, PartnerRole.PARTNER.value
        )
        # then
        assert isinstance(decision, Denied)
        assert not decision

    @pytest.mark.parametrize(
        "role", [StaffRole.DATA_MANAGER, StaffRole.INTEGRATOR, StaffRole.VIEWER]
    )
    def test_lead_org_staff_without_the_bit_may_not(self, role: StaffRole) -> None:
        # given / when
        decision = policies.can_invite_partner(staff(role), ORG, PartnerRole.LEAD)
        # then
        assert isinstance(decision, Denied)

    def test_no_active_partnership_is_denied(self) -> None:
        # given / when
        decision = policies.can_invite_partner(staff(StaffRole.OWNER), ORG, None)
        # then
        assert isinstance(decision, Denied)

    def test_other_org_is_denied(self) -> None:
        # given / when
        decision = policies.can_invite_partner(staff(StaffRole.OWNER), ORG + 1, "lead")
        # then
        assert isinstance(decision, Denied)


class TestCanReadContacts:
    def test_token_needs_contacts_read_scope(self) -> None:
        # given / when
        allowed = policies.can_read_contacts(token("contacts:read"), ORG, "partner")
        denied = policies.can_read_contacts(token("campaigns:write"), ORG, "lead")
        # then
        assert allowed == Allowed()
        assert isinstance(denied, Denied)

    def test_viewer_sees_no_personal_data(self) -> None:
        # given / when
        decision = policies.can_read_contacts(staff(StaffRole.VIEWER), ORG, "lead")
        # then
        assert isinstance(decision, Denied)


class TestCanLeaveCampaign:
    def test_lead_must_transfer_first(self) -> None:
        # given / when
        decision = policies.can_leave_campaign(staff(StaffRole.OWNER), ORG, "lead")
        # then
        assert isinstance(decision, Denied)
        assert "transfer" in decision.reason

    def test_partner_may_leave(self) -> None:
        # given / when
        decision = policies.can_leave_campaign(staff(StaffRole.CAMPAIGN_MANAGER), ORG, "partner")
        # then
        assert decision == Allowed()


class TestCanViewPartnerBreakdown:
    @pytest.mark.parametrize(
        ("role", "allowed"),
        [(PartnerRole.LEAD, True), (PartnerRole.COORDINATOR, True), (PartnerRole.PARTNER, False)],
    )
    def test_only_managers(self, role: PartnerRole, allowed: bool) -> None:
        # given / when
        decision = policies.can_view_partner_breakdown(staff(StaffRole.VIEWER), ORG, role)
        # then
        assert bool(decision) is allowed
