"""The one place that turns an authenticated subject into what it may read (DESIGN §5).

Repositories take a :class:`Scope`, never raw org ids from a request. A scope answers two
questions: which orgs may the subject act for with a given permission, and the SQL filter
that limits an org-owned table to those orgs. Anything returning personal data filters on
``Contact.org_id`` through :meth:`Scope.org_filter`, so an org only ever reads its own
Contact rows, which exist only where DESIGN §5 entitles it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, false, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from orgs.models import Campaign, Partnership, PartnershipStatus
from permissions.roles import Permission
from permissions.subject import ANONYMOUS, Subject, system_subject


@dataclass(frozen=True)
class Scope:
    subject: Subject

    def org_ids(self, permission: Permission) -> frozenset[int]:
        """Orgs the subject may act for with ``permission`` (role bits AND token scopes)."""
        return self.subject.orgs_with(permission)

    def allows(self, org_id: int, permission: Permission) -> bool:
        return permission in self.subject.permissions_in(org_id)

    def member_org_ids(self) -> frozenset[int]:
        """Orgs the subject belongs to, whatever its permissions there."""
        return frozenset(self.subject.grants)

    def org_filter(self, column: Any, permission: Permission) -> ColumnElement[bool]:
        """SQL condition limiting ``column`` (an ``org_id``) to orgs allowed ``permission``."""
        ids = self.org_ids(permission)
        if not ids:
            return false()
        result: ColumnElement[bool] = column.in_(sorted(ids))
        return result

    def campaign_filter(self, column: Any, permission: Permission) -> ColumnElement[bool]:
        """SQL condition limiting ``column`` (a ``campaign_id``) to readable campaigns.

        A campaign is readable through a partnership of an org allowed ``permission``
        that is active, or that has left (a partner that left keeps its own data).
        """
        ids = self.org_ids(permission)
        if not ids:
            return false()
        return exists().where(
            col(Partnership.campaign_id) == column,
            col(Partnership.org_id).in_(sorted(ids)),
            col(Partnership.status).in_(READABLE_STATUSES),
        )

    async def campaign_membership(
        self,
        session: AsyncSession,
        campaign_name: str,
        permission: Permission,
        *,
        org_id: int | None = None,
        statuses: tuple[str, ...] | None = None,
    ) -> Membership | None:
        """The campaign named ``campaign_name`` as seen by one of the subject's orgs.

        ``org_id`` picks the acting org (it must be one of the subject's orgs allowed
        ``permission``); without it the subject's org with the strongest partnership is
        used. ``None`` when the campaign does not exist or no allowed org takes part in it
        with one of ``statuses`` (default: active or left), so "not yours" looks like
        "not found".
        """
        ids = self.org_ids(permission) if org_id is None else self.org_ids(permission) & {org_id}
        if not ids:
            return None
        wanted = statuses if statuses is not None else READABLE_STATUSES
        result = await session.execute(
            select(Campaign, Partnership)
            .join(Partnership, col(Partnership.campaign_id) == col(Campaign.id))
            .where(
                col(Campaign.name) == campaign_name,
                col(Partnership.org_id).in_(sorted(ids)),
                col(Partnership.status).in_(wanted),
            )
            .order_by(col(Partnership.id))
        )
        rows: list[tuple[Campaign, Partnership]] = [(c, p) for c, p in result.all()]
        if not rows:
            return None
        rank = {"lead": 0, "coordinator": 1, "partner": 2}
        active = PartnershipStatus.ACTIVE.value
        campaign, partnership = min(
            rows, key=lambda r: (r[1].status != active, rank.get(r[1].role, 3))
        )
        return Membership(campaign=campaign, partnership=partnership)


READABLE_STATUSES: tuple[str, ...] = (
    PartnershipStatus.ACTIVE.value,
    PartnershipStatus.LEFT.value,
)


@dataclass(frozen=True)
class Membership:
    """A campaign seen through one org's partnership in it."""

    campaign: Campaign
    partnership: Partnership

    @property
    def org_id(self) -> int:
        return self.partnership.org_id

    @property
    def role(self) -> str | None:
        """The coalition role, only while the partnership is active (policies need it)."""
        if self.partnership.status != PartnershipStatus.ACTIVE.value:
            return None
        return self.partnership.role

    @property
    def reading_role(self) -> str | None:
        """The role for reading the org's own data: kept after leaving."""
        if self.partnership.status not in READABLE_STATUSES:
            return None
        return self.partnership.role


PUBLIC = Scope(ANONYMOUS)


def scope_for(subject: Subject) -> Scope:
    return Scope(subject)


def system_scope(org_id: int) -> Scope:
    """Full rights in one org, for workers and services acting on that org's own behalf."""
    return Scope(system_subject(org_id))
