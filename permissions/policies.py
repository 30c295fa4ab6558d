"""Policies: the second gate, shared by the API and workers (STYLE: permissions).

Each ``can_<verb>(subject, org_id, partnership_role)`` answers whether ``subject``, acting
for ``org_id`` whose partnership in the campaign has ``partnership_role`` (``None`` when the
org has no active partnership), may do ``<verb>``. Campaign rights need BOTH gates: the
coalition role of the org AND the permission bits of the staff role or token in that org.
"""

from __future__ import annotations

from dataclasses import dataclass

from orgs.models import PartnerRole
from permissions.roles import Permission
from permissions.subject import Subject


@dataclass(frozen=True)
class Allowed:
    def __bool__(self) -> bool:
        return True


@dataclass(frozen=True)
class Denied:
    reason: str

    def __bool__(self) -> bool:
        return False


Decision = Allowed | Denied
ALLOWED = Allowed()

LEAD_ONLY = frozenset({PartnerRole.LEAD})
MANAGERS = frozenset({PartnerRole.LEAD, PartnerRole.COORDINATOR})
ANY_PARTNER = frozenset(PartnerRole)


def _role(value: str | PartnerRole | None) -> PartnerRole | None:
    if value is None:
        return None
    try:
        return PartnerRole(value)
    except ValueError:
        return None


def _check(
    subject: Subject,
    org_id: int,
    partnership_role: str | PartnerRole | None,
    permission: Permission,
    roles: frozenset[PartnerRole],
) -> Decision:
    if permission not in subject.permissions_in(org_id):
        return Denied(f"your role in this org lacks {permission.name}")
    role = _role(partnership_role)
    if role is None:
        return Denied("your org is not an active partner of this campaign")
    if role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        return Denied(f"only the {allowed} of the campaign may do this")
    return ALLOWED


def can_add_campaign(subject: Subject, org_id: int, partnership_role: object = None) -> Decision:
    """Any org may start a campaign (it becomes the lead); only the staff bit matters."""
    if Permission.MANAGE_CAMPAIGNS not in subject.permissions_in(org_id):
        return Denied("your role in this org lacks MANAGE_CAMPAIGNS")
    return ALLOWED


def can_update_campaign(
    subject: Subject, org_id: int, partnership_role: str | PartnerRole | None
) -> Decision:
    return _check(subject, org_id, partnership_role, Permission.MANAGE_CAMPAIGNS, LEAD_ONLY)


def can_close_campaign(
    subject: Subject, org_id: int, partnership_role: str | PartnerRole | None
) -> Decision:
    return _check(subject, org_id, partnership_role, Permission.MANAGE_CAMPAIGNS, LEAD_ONLY)


def can_transfer_lead(
    subject: Subject, org_id: int, partnership_role: str | PartnerRole | None
) -> Decision:
    return _check(subject, org_id, partnership_role, Permission.MANAGE_PARTNERS, LEAD_ONLY)


def can_change_partner_role(
    subject: Subject, org_id: int, partnership_role: str | PartnerRole | None
) -> Decision:
    return _check(subject, org_id, partnership_role, Permission.MANAGE_PARTNERS, LEAD_ONLY)


def can_set_delivery_org(
    subject: Subject, org_id: int, partnership_role: str | PartnerRole | None
) -> Decision:
    return _check(subject, org_id, partnership_role, Permission.MANAGE_PARTNERS, LEAD_ONLY)


def can_remove_partner(
    subject: Subject, org_id: int, partnership_role: str | PartnerRole | None
) -> Decision:
    return _check(subject, org_id, partnership_role, Permission.MANAGE_PARTNERS, LEAD_ONLY)


def can_invite_partner(
    subject: Subject, org_id: int, partnership_role: str | PartnerRole | None
) -> Decision:
    return _check(subject, org_id, partnership_role, Permission.MANAGE_PARTNERS, MANAGERS)


def can_approve_partner(
    subject: Subject, org_id: int, partnership_role: str | PartnerRole | None
) -> Decision:
    return _check(subject, org_id, partnership_role, Permission.MANAGE_PARTNERS, MANAGERS)


def can_approve_launch(
    subject: Subject, org_id: int, partnership_role: str | PartnerRole | None
) -> Decision:
    return _check(subject, org_id, partnership_role, Permission.MANAGE_PAGES, MANAGERS)


def can_answer_partnership(
    subject: Subject, org_id: int, partnership_role: object = None
) -> Decision:
    """Accept/decline an invitation, request to join: the org's own decision."""
    if Permission.MANAGE_PARTNERS not in subject.permissions_in(org_id):
        return Denied("your role in this org lacks MANAGE_PARTNERS")
    return ALLOWED


def can_leave_campaign(
    subject: Subject, org_id: int, partnership_role: str | PartnerRole | None
) -> Decision:
    decision = _check(subject, org_id, partnership_role, Permission.MANAGE_PARTNERS, ANY_PARTNER)
    if decision and _role(partnership_role) is PartnerRole.LEAD:
        return Denied("the lead cannot leave; transfer the lead first")
    return decision


def can_manage_own_page(
    subject: Subject, org_id: int, partnership_role: str | PartnerRole | None
) -> Decision:
    """Add a page, request its launch, pause or close it: any active partner, for its own org."""
    return _check(subject, org_id, partnership_role, Permission.MANAGE_PAGES, ANY_PARTNER)


def can_read_contacts(
    subject: Subject, org_id: int, partnership_role: str | PartnerRole | None
) -> Decision:
    """Personal data: the org's own Contact rows (scoping filters on them); any partner."""
    return _check(subject, org_id, partnership_role, Permission.READ_CONTACTS, ANY_PARTNER)


def can_export_contacts(
    subject: Subject, org_id: int, partnership_role: str | PartnerRole | None
) -> Decision:
    return _check(subject, org_id, partnership_role, Permission.EXPORT_CONTACTS, ANY_PARTNER)


def can_view_stats(
    subject: Subject, org_id: int, partnership_role: str | PartnerRole | None
) -> Decision:
    return _check(subject, org_id, partnership_role, Permission.VIEW_STATS, ANY_PARTNER)


def can_view_partner_breakdown(
    subject: Subject, org_id: int, partnership_role: str | PartnerRole | None
) -> Decision:
    return _check(subject, org_id, partnership_role, Permission.VIEW_STATS, MANAGERS)


def can_manage_targets(
    subject: Subject, org_id: int, partnership_role: str | PartnerRole | None
) -> Decision:
    """Mail to target: the campaign's targets, sending settings, pause, cancel, moderation and
    the per-target details (addresses, bounces): the lead and coordinators."""
    return _check(subject, org_id, partnership_role, Permission.MANAGE_CAMPAIGNS, MANAGERS)


def _needs(subject: Subject, org_id: int, permission: Permission, what: str) -> Decision:
    if permission in subject.permissions_in(org_id):
        return ALLOWED
    return Denied(f"managing {what} needs the {permission.name} permission in this org")


def can_manage_staff(subject: Subject, org_id: int) -> Decision:
    return _needs(subject, org_id, Permission.MANAGE_STAFF, "staff")


def can_manage_tokens(subject: Subject, org_id: int) -> Decision:
    return _needs(subject, org_id, Permission.MANAGE_TOKENS, "API tokens")


def can_record_signatures(subject: Subject, org_id: int) -> Decision:
    """Post signatures to the org's own pages with its tools (OSDI, an API token)."""
    if Permission.RECORD_SIGNATURES in subject.permissions_in(org_id):
        return ALLOWED
    return Denied("recording signatures needs the RECORD_SIGNATURES permission in this org")


def can_manage_org(subject: Subject, org_id: int) -> Decision:
    return _needs(subject, org_id, Permission.MANAGE_ORG, "the org's settings")
