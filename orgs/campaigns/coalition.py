"""The coalition lifecycle: campaigns, partnerships and pages, each change audited.

Every function resolves what it acts on through the caller's :class:`Scope`, checks the
policy (both gates), validates everything, and only then writes; services never commit.
Another org's campaign or page raises ``NOT_FOUND``, exactly like a missing one.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orgs import mail
from orgs.audit import repository as audit
from orgs.campaigns import consent, repository
from orgs.campaigns.service import CampaignError, CampaignExists, create_campaign
from orgs.errors import DomainError, Problem
from orgs.intake import repository as intake
from orgs.models import (
    ActionPage,
    Campaign,
    CampaignStatus,
    DeliveryEvent,
    Org,
    PageStatus,
    PartnerRole,
    Partnership,
    PartnershipStatus,
    utcnow,
)
from orgs.organisations import repository as organisations
from orgs.outbox.repository import plan_staff_mail
from orgs.pages import repository as pages
from orgs.pages.config import config_problems, template_problems
from orgs.pages.service import PageError, PageExists, create_page
from orgs.scoping import Membership, Scope, system_scope
from permissions import policies
from permissions.policies import Decision, Denied
from permissions.roles import Permission


class ErrorCode(StrEnum):
    """Codes of the coalition operations (exposed as ``CoalitionErrorCode``)."""

    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    INVALID = "INVALID"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    INVALID_STATE = "INVALID_STATE"


class CoalitionError(DomainError):
    """A user-fixable outcome of a coalition operation (``field`` path, ``code``, ``message``)."""


ACTIVE = PartnershipStatus.ACTIVE.value


def _not_found(field: str, what: str) -> CoalitionError:
    return CoalitionError(field, ErrorCode.NOT_FOUND, f"{what} not found")


def _require(decision: Decision, field: str = "campaign") -> None:
    if isinstance(decision, Denied):
        raise CoalitionError(field, ErrorCode.PERMISSION_DENIED, decision.reason)


async def _member(
    session: AsyncSession, scope: Scope, campaign: str, permission: Permission
) -> Membership:
    membership = await scope.campaign_membership(session, campaign, permission, statuses=(ACTIVE,))
    if membership is None:
        raise _not_found("campaign", "campaign")
    return membership


async def _own_org(session: AsyncSession, scope: Scope, name: str, field: str = "org") -> Org:
    org = await organisations.member_org_by_name(session, scope, name)
    if org is None or org.id is None:
        raise _not_found(field, "org")
    return org


async def _audit(
    session: AsyncSession,
    scope: Scope,
    org_id: int,
    action: str,
    row: Campaign | Partnership | ActionPage,
    **details: Any,
) -> None:
    await audit.record(session, scope, org_id, action, type(row).__name__, row.id, details)


def _touch(row: Campaign | Partnership | ActionPage) -> None:
    row.updated_at = utcnow()


# --- campaigns ---------------------------------------------------------------------------


async def add_campaign(
    session: AsyncSession,
    scope: Scope,
    org: str,
    name: str,
    title: str,
    goal: int | None = None,
    config: dict[str, Any] | None = None,
) -> Campaign:
    lead = await _own_org(session, scope, org)
    assert lead.id is not None
    _require(policies.can_add_campaign(scope.subject, lead.id), "org")
    if not title.strip():
        raise CoalitionError("title", ErrorCode.INVALID, "title must not be empty")
    try:
        campaign = await create_campaign(session, lead, name, title, goal=goal, config=config)
    except CampaignError as e:
        code = ErrorCode.ALREADY_EXISTS if isinstance(e, CampaignExists) else ErrorCode.INVALID
        raise CoalitionError("name", code, str(e)) from e
    await _audit(session, scope, lead.id, "campaign.add", campaign, name=name)
    return campaign


async def update_campaign(
    session: AsyncSession,
    scope: Scope,
    campaign: str,
    title: str | None = None,
    goal: int | None = None,
    status: CampaignStatus | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> Campaign:
    """Change a campaign's title, goal, status or dates (the lead only).

    Opening it (``live``) also puts live the lead's own pages waiting for launch; closing it
    closes every page, as closeCampaign does. Signatures are taken from ``starts_at`` until
    ``ends_at`` (the campaign then reads as closed, and the workers close it).
    """
    m = await _member(session, scope, campaign, Permission.MANAGE_CAMPAIGNS)
    _require(policies.can_update_campaign(scope.subject, m.org_id, m.role))
    if title is not None and not title.strip():
        raise CoalitionError("title", ErrorCode.INVALID, "title must not be empty")
    if goal is not None and goal < 0:
        raise CoalitionError("goal", ErrorCode.INVALID, "goal must not be negative")
    if m.campaign.status == CampaignStatus.CLOSED.value:
        raise CoalitionError("campaign", ErrorCode.INVALID_STATE, "the campaign is closed")
    start = starts_at or m.campaign.starts_at
    end = ends_at or m.campaign.ends_at
    if start is not None and end is not None and end <= start:
        raise CoalitionError("endsAt", ErrorCode.INVALID, "the end must come after the start")
    changes: dict[str, Any] = {}
    if title is not None:
        m.campaign.title = changes["title"] = title
    if goal is not None:
        m.campaign.goal = changes["goal"] = goal
    if starts_at is not None:
        m.campaign.starts_at = starts_at
        changes["startsAt"] = starts_at.isoformat()
    if ends_at is not None:
        m.campaign.ends_at = ends_at
        changes["endsAt"] = ends_at.isoformat()
    if status is not None:
        m.campaign.status = changes["status"] = status.value
        assert m.campaign.id is not None
        if status is CampaignStatus.LIVE:
            for page in await repository.pages_of_partner(session, m.campaign.id, m.org_id):
                if page.status == PageStatus.LAUNCH_REQUESTED.value:
                    page.status = PageStatus.LIVE.value
                    _touch(page)
        elif status is CampaignStatus.CLOSED:
            await _close_all_pages(session, m.campaign)
    _touch(m.campaign)
    await session.flush()
    await _audit(session, scope, m.org_id, "campaign.update", m.campaign, **changes)
    return m.campaign


async def _close_all_pages(session: AsyncSession, campaign: Campaign) -> None:
    assert campaign.id is not None
    for partnership in await repository.partnerships_of_campaign(session, campaign.id):
        await _close_pages(session, campaign, partnership.org_id)


async def close_campaign(session: AsyncSession, scope: Scope, campaign: str) -> Campaign:
    m = await _member(session, scope, campaign, Permission.MANAGE_CAMPAIGNS)
    _require(policies.can_close_campaign(scope.subject, m.org_id, m.role))
    if m.campaign.status == CampaignStatus.CLOSED.value:
        raise CoalitionError("campaign", ErrorCode.INVALID_STATE, "already closed")
    m.campaign.status = CampaignStatus.CLOSED.value
    _touch(m.campaign)
    await _close_all_pages(session, m.campaign)
    await session.flush()
    await _audit(session, scope, m.org_id, "campaign.close", m.campaign)
    return m.campaign


# --- partnerships ------------------------------------------------------------------------


async def _partner_of(
    session: AsyncSession, m: Membership, org: str, field: str = "org"
) -> tuple[Org, Partnership | None]:
    target = await organisations.org_by_name(session, org)
    if target is None or target.id is None:
        raise _not_found(field, "org")
    assert m.campaign.id is not None
    return target, await repository.partnership_of(session, m.campaign.id, target.id)


async def invite_partner(
    session: AsyncSession,
    scope: Scope,
    campaign: str,
    org: str,
    role: PartnerRole = PartnerRole.PARTNER,
) -> Partnership:
    m = await _member(session, scope, campaign, Permission.MANAGE_PARTNERS)
    _require(policies.can_invite_partner(scope.subject, m.org_id, m.role))
    if role is PartnerRole.LEAD:
        raise CoalitionError("role", ErrorCode.INVALID, "use transferLead to change the lead")
    if role is PartnerRole.COORDINATOR and m.role != PartnerRole.LEAD.value:
        raise CoalitionError(
            "role", ErrorCode.PERMISSION_DENIED, "only the lead may appoint coordinators"
        )
    target, existing = await _partner_of(session, m, org)
    if existing is not None and existing.status in (ACTIVE, PartnershipStatus.INVITED.value):
        raise CoalitionError("org", ErrorCode.ALREADY_EXISTS, "already a partner or invited")
    if existing is not None and existing.status == PartnershipStatus.REMOVED.value:
        raise CoalitionError("org", ErrorCode.INVALID_STATE, "this org was removed")
    assert m.campaign.id is not None
    assert target.id is not None
    if existing is None:
        existing = Partnership(campaign_id=m.campaign.id, org_id=target.id)
        session.add(existing)
    existing.role = role.value
    existing.status = PartnershipStatus.INVITED.value
    _touch(existing)
    await session.flush()
    await _audit(session, scope, m.org_id, "partner.invite", existing, org=org, role=role.value)
    return existing


async def _own_partnership(
    session: AsyncSession, scope: Scope, campaign: str, org: str
) -> tuple[Campaign, Org, Partnership | None]:
    own = await _own_org(session, scope, org)
    assert own.id is not None
    _require(policies.can_answer_partnership(scope.subject, own.id), "org")
    row = await _invited_or_public(session, campaign, own.id)
    if row is None or row.id is None:
        raise _not_found("campaign", "campaign")
    return row, own, await repository.partnership_of(session, row.id, own.id)


async def _invited_or_public(session: AsyncSession, campaign: str, org_id: int) -> Campaign | None:
    """A campaign the org may name without taking part in it: one it has a partnership row in
    (an invitation, a request), else a public (non-draft) one named unambiguously. Drafts of
    other tenants stay invisible."""
    scope = system_scope(org_id)
    any_status = tuple(s.value for s in PartnershipStatus)
    m = await scope.campaign_membership(
        session, campaign, Permission.MANAGE_PARTNERS, org_id=org_id, statuses=any_status
    )
    if m is not None:
        return m.campaign
    return await repository.public_campaign(session, campaign)


async def _answer(
    session: AsyncSession, scope: Scope, campaign: str, org: str, accept: bool
) -> Partnership:
    row, own, p = await _own_partnership(session, scope, campaign, org)
    if p is None or p.status != PartnershipStatus.INVITED.value:
        raise _not_found("campaign", "invitation")
    assert own.id is not None
    p.status = ACTIVE if accept else PartnershipStatus.DECLINED.value
    _touch(p)
    await session.flush()
    action = "partner.accept" if accept else "partner.decline"
    await _audit(session, scope, own.id, action, p, campaign=row.name)
    return p


async def accept_partnership(
    session: AsyncSession, scope: Scope, campaign: str, org: str
) -> Partnership:
    return await _answer(session, scope, campaign, org, accept=True)


async def decline_partnership(
    session: AsyncSession, scope: Scope, campaign: str, org: str
) -> Partnership:
    return await _answer(session, scope, campaign, org, accept=False)


async def request_to_join(
    session: AsyncSession, scope: Scope, campaign: str, org: str
) -> Partnership:
    row, own, p = await _own_partnership(session, scope, campaign, org)
    if row.status == CampaignStatus.CLOSED.value:
        raise CoalitionError("campaign", ErrorCode.INVALID_STATE, "the campaign is closed")
    if p is not None and p.status in (
        ACTIVE,
        PartnershipStatus.INVITED.value,
        PartnershipStatus.REQUESTED.value,
    ):
        raise CoalitionError("campaign", ErrorCode.ALREADY_EXISTS, "already a partner")
    if p is not None and p.status == PartnershipStatus.REMOVED.value:
        raise CoalitionError("campaign", ErrorCode.INVALID_STATE, "your org was removed")
    assert row.id is not None
    assert own.id is not None
    if p is None:
        p = Partnership(campaign_id=row.id, org_id=own.id)
        session.add(p)
    p.role = PartnerRole.PARTNER.value
    p.status = PartnershipStatus.REQUESTED.value
    _touch(p)
    await session.flush()
    await _audit(session, scope, own.id, "partner.request", p, campaign=row.name)
    return p


async def _decide_request(
    session: AsyncSession, scope: Scope, campaign: str, org: str, approve: bool
) -> Partnership:
    m = await _member(session, scope, campaign, Permission.MANAGE_PARTNERS)
    _require(policies.can_approve_partner(scope.subject, m.org_id, m.role))
    _, p = await _partner_of(session, m, org)
    if p is None or p.status != PartnershipStatus.REQUESTED.value:
        raise _not_found("org", "request")
    p.status = ACTIVE if approve else PartnershipStatus.REJECTED.value
    _touch(p)
    await session.flush()
    action = "partner.approve" if approve else "partner.reject"
    await _audit(session, scope, m.org_id, action, p, org=org)
    return p


async def approve_partner(
    session: AsyncSession, scope: Scope, campaign: str, org: str
) -> Partnership:
    return await _decide_request(session, scope, campaign, org, approve=True)


async def reject_partner(
    session: AsyncSession, scope: Scope, campaign: str, org: str
) -> Partnership:
    return await _decide_request(session, scope, campaign, org, approve=False)


async def leave_campaign(
    session: AsyncSession, scope: Scope, campaign: str, org: str
) -> Partnership:
    """The org leaves; its pages close and its data stays with it (still readable)."""
    own = await _own_org(session, scope, org)
    m = await scope.campaign_membership(
        session, campaign, Permission.MANAGE_PARTNERS, org_id=own.id, statuses=(ACTIVE,)
    )
    if m is None:
        raise _not_found("campaign", "campaign")
    _require(policies.can_leave_campaign(scope.subject, m.org_id, m.role))
    await _close_pages(session, m.campaign, m.org_id)
    m.partnership.status = PartnershipStatus.LEFT.value
    m.partnership.delivery = False
    _touch(m.partnership)
    await session.flush()
    await _audit(session, scope, m.org_id, "partner.leave", m.partnership, campaign=campaign)
    return m.partnership


async def _close_pages(session: AsyncSession, campaign: Campaign, org_id: int) -> None:
    assert campaign.id is not None
    for page in await repository.pages_of_partner(session, campaign.id, org_id):
        if page.status != PageStatus.CLOSED.value:
            page.status = PageStatus.CLOSED.value
            _touch(page)


async def remove_partner(
    session: AsyncSession, scope: Scope, campaign: str, org: str
) -> Partnership:
    """The lead removes a partner: its pages close, its data stays with it."""
    m = await _member(session, scope, campaign, Permission.MANAGE_PARTNERS)
    _require(policies.can_remove_partner(scope.subject, m.org_id, m.role))
    _, p = await _partner_of(session, m, org)
    if p is None or p.status not in (ACTIVE, PartnershipStatus.INVITED.value):
        raise _not_found("org", "partner")
    if p.role == PartnerRole.LEAD.value:
        raise CoalitionError("org", ErrorCode.INVALID_STATE, "the lead cannot be removed")
    await _close_pages(session, m.campaign, p.org_id)
    p.status = PartnershipStatus.REMOVED.value
    p.delivery = False
    _touch(p)
    await session.flush()
    await _audit(session, scope, m.org_id, "partner.remove", p, org=org)
    return p


async def _active_partner(session: AsyncSession, m: Membership, org: str) -> Partnership:
    _, p = await _partner_of(session, m, org)
    if p is None or p.status != ACTIVE:
        raise _not_found("org", "partner")
    return p


async def transfer_lead(
    session: AsyncSession, scope: Scope, campaign: str, org: str
) -> Partnership:
    m = await _member(session, scope, campaign, Permission.MANAGE_PARTNERS)
    _require(policies.can_transfer_lead(scope.subject, m.org_id, m.role))
    p = await _active_partner(session, m, org)
    if p.id == m.partnership.id:
        raise CoalitionError("org", ErrorCode.INVALID, "your org already leads")
    m.partnership.role = PartnerRole.COORDINATOR.value
    _touch(m.partnership)
    await session.flush()  # one lead at a time (a unique index may guard it)
    p.role = PartnerRole.LEAD.value
    m.campaign.org_id = p.org_id
    _touch(p)
    _touch(m.campaign)
    await session.flush()
    await _audit(session, scope, m.org_id, "campaign.transfer_lead", m.campaign, org=org)
    return p


async def change_partner_role(
    session: AsyncSession, scope: Scope, campaign: str, org: str, role: PartnerRole
) -> Partnership:
    """The lead makes an active partner a coordinator, or a coordinator a partner."""
    m = await _member(session, scope, campaign, Permission.MANAGE_PARTNERS)
    _require(policies.can_change_partner_role(scope.subject, m.org_id, m.role))
    if role is PartnerRole.LEAD:
        raise CoalitionError("role", ErrorCode.INVALID, "use transferLead to change the lead")
    p = await _active_partner(session, m, org)
    if p.role == PartnerRole.LEAD.value:
        raise CoalitionError(
            "org", ErrorCode.INVALID_STATE, "the lead's role changes by transferLead"
        )
    if p.role == role.value:
        return p
    before = p.role
    p.role = role.value
    _touch(p)
    await session.flush()
    await _audit(
        session, scope, m.org_id, "partner.change_role", p, org=org, role=role.value, was=before
    )
    return p


async def set_delivery_org(
    session: AsyncSession, scope: Scope, campaign: str, org: str | None
) -> Campaign:
    """Make ``org`` (an active partner) the campaign's delivery org; ``None`` clears it."""
    m = await _member(session, scope, campaign, Permission.MANAGE_PARTNERS)
    _require(policies.can_set_delivery_org(scope.subject, m.org_id, m.role))
    target = await _active_partner(session, m, org) if org is not None else None
    assert m.campaign.id is not None
    for p in await repository.partnerships_of_campaign(session, m.campaign.id):
        if p.delivery and (target is None or p.id != target.id):
            p.delivery = False
            _touch(p)
    await session.flush()  # one delivery org at a time (a unique index guards it)
    if target is not None and not target.delivery:
        target.delivery = True
        _touch(target)
        await session.flush()
    await _audit(session, scope, m.org_id, "campaign.set_delivery_org", m.campaign, org=org)
    return m.campaign


# --- pages -------------------------------------------------------------------------------


async def _template(session: AsyncSession, campaign: Campaign) -> ActionPage | None:
    assert campaign.id is not None
    name = campaign.config.get("templatePage")
    if isinstance(name, str):
        page = await pages.page_by_name(session, name)
        if page is not None and page.campaign_id == campaign.id:
            return page
    lead_pages = await repository.pages_of_partner(session, campaign.id, campaign.org_id)
    return lead_pages[0] if lead_pages else None


async def add_action_page(
    session: AsyncSession, scope: Scope, campaign: str, org: str, name: str
) -> ActionPage:
    """A page for one's own org, copied from the campaign's template page (config, locale)."""
    own = await _own_org(session, scope, org)
    m = await scope.campaign_membership(
        session, campaign, Permission.MANAGE_PAGES, org_id=own.id, statuses=(ACTIVE,)
    )
    if m is None:
        raise _not_found("campaign", "campaign")
    _require(policies.can_manage_own_page(scope.subject, m.org_id, m.role))
    if m.campaign.status == CampaignStatus.CLOSED.value:
        raise CoalitionError("campaign", ErrorCode.INVALID_STATE, "the campaign is closed")
    template = await _template(session, m.campaign)
    try:
        page = await create_page(
            session,
            own,
            m.campaign,
            name,
            locale=template.locale if template else "en",
            config=dict(template.config) if template else {},
        )
    except PageError as e:
        code = ErrorCode.ALREADY_EXISTS if isinstance(e, PageExists) else ErrorCode.INVALID
        raise CoalitionError("name", code, str(e)) from e
    await _audit(session, scope, m.org_id, "page.add", page, name=name)
    return page


async def _own_page(session: AsyncSession, scope: Scope, name: str) -> ActionPage:
    """A page of one of the subject's orgs allowed to manage pages, and its partner role."""
    page = await pages.page_by_name(session, name)
    if page is None or not scope.allows(page.org_id, Permission.MANAGE_PAGES):
        raise _not_found("page", "page")
    m = await scope.campaign_membership(
        session, page.campaign_id, Permission.MANAGE_PAGES, org_id=page.org_id, statuses=(ACTIVE,)
    )
    _require(
        policies.can_manage_own_page(scope.subject, page.org_id, m.role if m else None), "page"
    )
    return page


async def _set_page_status(
    session: AsyncSession,
    scope: Scope,
    page: ActionPage,
    allowed_from: tuple[PageStatus, ...],
    to: PageStatus,
    action: str,
    message: str | None = None,
    audit_org: int | None = None,
) -> ActionPage:
    if PageStatus(page.status) not in allowed_from:
        raise CoalitionError(
            "page", ErrorCode.INVALID_STATE, f"a {page.status} page cannot become {to.value}"
        )
    page.status = to.value
    if message is not None:
        page.launch_message = message
    _touch(page)
    await session.flush()
    details: dict[str, Any] = {"status": to.value}
    if message is not None:
        details["message"] = message
    await _audit(session, scope, audit_org or page.org_id, action, page, **details)
    return page


async def request_launch(session: AsyncSession, scope: Scope, page: str) -> ActionPage:
    """Ask the lead to launch a page; the lead's and coordinators' own pages need no approval
    (they go live at once; the public sees them when the campaign is open)."""
    row = await _own_page(session, scope, page)
    m = await scope.campaign_membership(
        session, row.campaign_id, Permission.MANAGE_PAGES, org_id=row.org_id, statuses=(ACTIVE,)
    )
    if m is not None and policies.can_approve_launch(scope.subject, row.org_id, m.role):
        return await _set_page_status(
            session,
            scope,
            row,
            (PageStatus.DRAFT, PageStatus.PAUSED, PageStatus.LAUNCH_REQUESTED),
            PageStatus.LIVE,
            "page.launch",
        )
    return await _set_page_status(
        session,
        scope,
        row,
        (PageStatus.DRAFT, PageStatus.PAUSED),
        PageStatus.LAUNCH_REQUESTED,
        "page.request_launch",
    )


async def pause_page(session: AsyncSession, scope: Scope, page: str) -> ActionPage:
    row = await _own_page(session, scope, page)
    return await _set_page_status(
        session, scope, row, (PageStatus.LIVE,), PageStatus.PAUSED, "page.pause"
    )


async def close_page(session: AsyncSession, scope: Scope, page: str) -> ActionPage:
    row = await _own_page(session, scope, page)
    return await _set_page_status(
        session,
        scope,
        row,
        (PageStatus.DRAFT, PageStatus.LAUNCH_REQUESTED, PageStatus.LIVE, PageStatus.PAUSED),
        PageStatus.CLOSED,
        "page.close",
    )


async def _decide_launch(
    session: AsyncSession, scope: Scope, page: str, message: str | None, approve: bool
) -> ActionPage:
    row = await pages.page_by_name(session, page)
    if row is None:
        raise _not_found("page", "page")
    m = await scope.campaign_membership(
        session, row.campaign_id, Permission.MANAGE_PAGES, statuses=(ACTIVE,)
    )
    # Pages of campaigns the caller does not manage look like missing pages.
    managers = (PartnerRole.LEAD.value, PartnerRole.COORDINATOR.value)
    if m is None or (m.role not in managers and row.org_id not in scope.member_org_ids()):
        raise _not_found("page", "page")
    _require(policies.can_approve_launch(scope.subject, m.org_id, m.role), "page")
    if not approve and not (message or "").strip():
        raise CoalitionError("message", ErrorCode.INVALID, "say why the launch is rejected")
    return await _set_page_status(
        session,
        scope,
        row,
        (PageStatus.LAUNCH_REQUESTED,),
        PageStatus.LIVE if approve else PageStatus.DRAFT,
        "page.approve_launch" if approve else "page.reject_launch",
        message,
        audit_org=m.org_id,
    )


async def approve_launch(
    session: AsyncSession, scope: Scope, page: str, message: str | None = None
) -> ActionPage:
    return await _decide_launch(session, scope, page, message, approve=True)


async def reject_launch(
    session: AsyncSession, scope: Scope, page: str, message: str | None = None
) -> ActionPage:
    return await _decide_launch(session, scope, page, message, approve=False)


# --- campaign settings: consent wording, counters ---------------------------------------------


def _consent_error(error: consent.ConsentTextError) -> CoalitionError:
    code = ErrorCode.ALREADY_EXISTS if error.exists else ErrorCode.INVALID
    return CoalitionError(error.field, code, str(error))


async def add_consent_version(
    session: AsyncSession,
    scope: Scope,
    campaign: str,
    version: str,
    texts: dict[str, dict[str, str | None]],
    make_current: bool = True,
) -> Campaign:
    """Add a consent wording version (texts per locale); versions never change once added."""
    m = await _member(session, scope, campaign, Permission.MANAGE_CAMPAIGNS)
    _require(policies.can_update_campaign(scope.subject, m.org_id, m.role))
    try:
        m.campaign.consent_texts = consent.add_version(
            m.campaign.consent_texts, version, texts, make_current=make_current
        )
    except consent.ConsentTextError as error:
        raise _consent_error(error) from error
    _touch(m.campaign)
    await session.flush()
    await _audit(
        session,
        scope,
        m.org_id,
        "campaign.add_consent_version",
        m.campaign,
        version=version,
        locales=sorted(texts),
        current=make_current,
    )
    return m.campaign


async def set_consent_version(
    session: AsyncSession, scope: Scope, campaign: str, locale: str, version: str
) -> Campaign:
    """Make ``version`` the wording pages of ``locale`` show from now on."""
    m = await _member(session, scope, campaign, Permission.MANAGE_CAMPAIGNS)
    _require(policies.can_update_campaign(scope.subject, m.org_id, m.role))
    try:
        m.campaign.consent_texts = consent.set_current(m.campaign.consent_texts, locale, version)
    except consent.ConsentTextError as error:
        raise _consent_error(error) from error
    _touch(m.campaign)
    await session.flush()
    await _audit(
        session,
        scope,
        m.org_id,
        "campaign.set_consent_version",
        m.campaign,
        version=version,
        locale=locale,
    )
    return m.campaign


async def freeze_counters(
    session: AsyncSession, scope: Scope, campaign: str, frozen: bool
) -> Campaign:
    """Freeze the public counters at their current values (for press work), or thaw them.

    Signatures keep being taken and counted; the public reads show the frozen numbers until
    the counters are thawed.
    """
    m = await _member(session, scope, campaign, Permission.MANAGE_CAMPAIGNS)
    _require(policies.can_update_campaign(scope.subject, m.org_id, m.role))
    assert m.campaign.id is not None
    if frozen:
        conn = await session.connection()
        totals = await intake.campaign_counts(conn, m.campaign.id)
        pages = {}
        for partnership in await repository.partnerships_of_campaign(session, m.campaign.id):
            for page in await repository.pages_of_partner(
                session, m.campaign.id, partnership.org_id
            ):
                pages[str(page.id)] = asdict(await intake.page_counts(conn, page.id or 0))
        m.campaign.frozen_counts = {"campaign": asdict(totals), "pages": pages}
    else:
        m.campaign.frozen_counts = None
    _touch(m.campaign)
    await session.flush()
    await _audit(session, scope, m.org_id, "campaign.freeze_counters", m.campaign, frozen=frozen)
    return m.campaign


# --- page settings ---------------------------------------------------------------------------


async def update_action_page(
    session: AsyncSession,
    scope: Scope,
    page: str,
    *,
    config: Any = None,
    locale: str | None = None,
    templates: Any = None,
    double_opt_in: bool | None = None,
    follow_org_double_opt_in: bool = False,
    thank_you_mail: bool | None = None,
) -> ActionPage:
    """Change one's own page: its widget config (checked against the widget's own schema),
    locale, mail templates per locale, double opt-in and thank-you mail.

    Every problem is reported at once with its input path; nothing changes unless all pass.
    """
    row = await _own_page(session, scope, page)
    problems: list[Problem] = []
    if config is not None:
        problems += [
            Problem(("input", "config", *path), ErrorCode.INVALID, message)
            for path, message in config_problems(config)
        ]
    if templates is not None:
        problems += [
            Problem(("input", "templates", *path), ErrorCode.INVALID, message)
            for path, message in template_problems(templates)
        ]
    if locale is not None and not consent.LOCALE.match(locale):
        problems.append(
            Problem(("input", "locale"), ErrorCode.INVALID, "a locale like fr or fr_BE")
        )
    if problems:
        raise CoalitionError.of(problems)
    changed: list[str] = []
    if config is not None:
        row.config, changed = config, [*changed, "config"]
    if locale is not None:
        row.locale, changed = locale, [*changed, "locale"]
    if templates is not None:
        row.templates, changed = templates, [*changed, "templates"]
    if double_opt_in is not None or follow_org_double_opt_in:
        row.double_opt_in = None if follow_org_double_opt_in else double_opt_in
        changed.append("doubleOptIn")
    if thank_you_mail is not None:
        row.thank_you_mail, changed = thank_you_mail, [*changed, "thankYouMail"]
    _touch(row)
    await session.flush()
    await _audit(session, scope, row.org_id, "page.update", row, changed=changed)
    return row


# --- mails: preview and test send ---------------------------------------------------------------


def _mail_kind(kind: str) -> None:
    if kind not in mail.PAGE_KINDS:
        raise CoalitionError(
            "kind", ErrorCode.INVALID, f"a mail kind: {', '.join(mail.PAGE_KINDS)}"
        )


async def preview_mail(
    session: AsyncSession,
    scope: Scope,
    page: str,
    kind: str,
    locale: str | None,
    public_url: str,
) -> mail.Rendered:
    """A page's mail as its signers get it (the page's templates, else the defaults in its
    language), for an example person; nothing is sent."""
    row = await _own_page(session, scope, page)
    _mail_kind(kind)
    campaign = await repository.campaign_by_id(session, row.campaign_id)
    org = await organisations.org_by_id(session, row.org_id)
    assert campaign is not None
    assert org is not None
    shown = locale or row.locale
    context = mail.sample_context(
        public_url,
        {"name": campaign.name, "title": campaign.title},
        {"name": org.name, "title": org.title},
        shown,
    )
    return mail.render(kind, shown, row.templates, context)


async def send_test_mail(
    session: AsyncSession, scope: Scope, page: str, kind: str, locale: str | None
) -> ActionPage:
    """Mail the page's ``kind`` (for an example person, subject prefixed ``[TEST]``) to the
    logged-in staff member asking, through the org's own mail server like real mails."""
    row = await _own_page(session, scope, page)
    _mail_kind(kind)
    user_id = scope.subject.user_id
    if user_id is None:
        raise CoalitionError(
            "page", ErrorCode.INVALID, "a test mail goes to the staff member logged in: log in"
        )
    assert row.id is not None
    minute = int(utcnow().timestamp() // 60)
    await plan_staff_mail(
        await session.connection(),
        event=DeliveryEvent.TEST_MAIL,
        org_id=row.org_id,
        user_id=user_id,
        subject=f"p{row.id}:{kind}:{locale or ''}:u{user_id}:{minute}",
        details={"page": row.id, "kind": kind, "locale": locale},
    )
    await _audit(session, scope, row.org_id, "page.test_mail", row, kind=kind)
    return row
