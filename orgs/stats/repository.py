"""Aggregate counts of a campaign (not personal data; breakdowns follow roles)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Date
from sqlmodel import col

from orgs.models import Action, ActionPage, Org, StatCounter
from orgs.scoping import Membership, Scope
from permissions.roles import Permission


def _counted(membership: Membership) -> list[ColumnElement[bool]]:
    return [
        col(Action.campaign_id) == membership.campaign.id,
        col(Action.testing).is_(False),
        col(Action.flagged).is_(None),
        col(Action.dupe_rank) == 0,
    ]


async def totals(session: AsyncSession, scope: Scope, membership: Membership) -> tuple[int, int]:
    """(supporters, actions) of the whole campaign."""
    if not scope.allows(membership.org_id, Permission.VIEW_STATS):
        return 0, 0
    result = await session.execute(
        select(func.count(func.distinct(Action.supporter_id)), func.count()).where(
            *_counted(membership)
        )
    )
    supporters, actions = result.one()
    return int(supporters), int(actions)


async def by_partner_page(
    session: AsyncSession, scope: Scope, membership: Membership
) -> list[tuple[str, str, int]]:
    """(org name, page name, actions) for every page of the campaign."""
    if not scope.allows(membership.org_id, Permission.VIEW_STATS):
        return []
    result = await session.execute(
        select(col(Org.name), col(ActionPage.name), func.count())
        .select_from(Action)
        .join(ActionPage, col(ActionPage.id) == col(Action.action_page_id))
        .join(Org, col(Org.id) == col(Action.org_id))
        .where(*_counted(membership))
        .group_by(col(Org.name), col(ActionPage.name))
        .order_by(col(Org.name), col(ActionPage.name))
    )
    return [(o, p, int(n)) for o, p, n in result.all()]


async def own_breakdown(
    session: AsyncSession, scope: Scope, membership: Membership, dimension: str
) -> list[tuple[str | None, int]]:
    """The org's own actions grouped by ``dimension`` (source, medium, campaign, day), or
    the supporters its own pages brought by the country they gave there (``country``)."""
    if not scope.allows(membership.org_id, Permission.VIEW_STATS):
        return []
    if dimension == "country":
        return await _own_countries(session, scope, membership)
    columns: dict[str, Any] = {
        "source": col(Action.source),
        "medium": col(Action.medium),
        "campaign": col(Action.tracking_campaign),
        "day": cast(col(Action.created_at), Date),
    }
    key = columns[dimension]
    query = (
        select(key, func.count())
        .select_from(Action)
        .where(
            *_counted(membership),
            col(Action.org_id) == membership.org_id,
            scope.org_filter(col(Action.org_id), Permission.VIEW_STATS),
        )
    )
    result = await session.execute(query.group_by(key).order_by(key))
    return [(None if k is None else str(k), int(n)) for k, n in result.all()]


async def _own_countries(
    session: AsyncSession, scope: Scope, membership: Membership
) -> list[tuple[str | None, int]]:
    """Countries from the org's own pages' public counters: each counts the country a new
    supporter typed on that very page. Never the supporter's country as last given anywhere
    (``Supporter.country``): anyone can sign a known address on their own page without a
    country, and that would show what the person typed on another org's page (issue 10)."""
    # metric "country:<code>|<shard>", see orgs/intake/repository.py
    key = func.split_part(func.substr(col(StatCounter.metric), len("country:") + 1), "|", 1)
    result = await session.execute(
        select(key, func.sum(col(StatCounter.value)))
        .join(ActionPage, col(ActionPage.id) == col(StatCounter.action_page_id))
        .where(
            col(StatCounter.campaign_id) == membership.campaign.id,
            col(StatCounter.metric).startswith("country:"),
            col(ActionPage.org_id) == membership.org_id,
            scope.org_filter(col(ActionPage.org_id), Permission.VIEW_STATS),
        )
        .group_by(key)
        .having(func.sum(col(StatCounter.value)) > 0)
        .order_by(key)
    )
    return [(str(k), int(n)) for k, n in result.all()]
