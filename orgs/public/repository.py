"""SQL of the public reads beyond a campaign's totals: supporters per page, recent actions.

Nothing here is personal data: counts, and of each recent action only what
``orgs.scoping.PUBLIC_ACTION_FIELDS`` lists plus its custom fields, which the service cuts
down to the campaign's public keys before anything leaves the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class PageSupporters:
    page_id: int
    org_name: str
    org_title: str
    privacy_policy_url: str | None
    public: bool  # the page is live or closed: its org is shown as a partner
    supporters: int


_PAGES = text(
    """
    SELECT p.id, o.name, o.title, o.settings ->> 'privacy_policy_url',
           p.status IN ('live', 'closed') AS public,
           COALESCE(SUM(s.value) FILTER (WHERE s.metric LIKE 'supporters|%'), 0) AS supporters
    FROM action_page p
    JOIN org o ON o.id = p.org_id
    LEFT JOIN stat_counter s ON s.action_page_id = p.id
    WHERE p.campaign_id = :campaign_id
    GROUP BY p.id, o.name, o.title, o.settings, p.status
    ORDER BY p.id
    """
)


async def page_supporters(conn: AsyncConnection, campaign_id: int) -> list[PageSupporters]:
    """Every page of the campaign with its org and its supporter counter."""
    rows = await conn.execute(_PAGES, {"campaign_id": campaign_id})
    return [PageSupporters(r[0], r[1], r[2], r[3], bool(r[4]), int(r[5])) for r in rows]


@dataclass(frozen=True)
class RecentAction:
    id: int
    action_type: str
    created_at: datetime
    country: str | None
    custom_fields: dict[str, Any]


# counted actions of supporters who stand by them: not testing, not flagged, not erased,
# not waiting for (or refusing) a double opt-in confirmation; anonymous actions never
_RECENT = text(
    """
    SELECT a.id, a.action_type, a.created_at, s.country, a.custom_fields
    FROM action a
    JOIN supporter s ON s.id = a.supporter_id
    WHERE a.campaign_id = :campaign_id AND a.action_type = :action_type
      AND NOT a.testing AND a.flagged IS NULL
      AND s.erased_at IS NULL AND s.confirmation NOT IN ('confirming', 'rejected')
    ORDER BY a.created_at DESC, a.id DESC
    LIMIT :limit
    """
)


async def recent_actions(
    conn: AsyncConnection, campaign_id: int, action_type: str, limit: int
) -> list[RecentAction]:
    rows = await conn.execute(
        _RECENT, {"campaign_id": campaign_id, "action_type": action_type, "limit": limit}
    )
    return [RecentAction(r[0], r[1], r[2], r[3], dict(r[4] or {})) for r in rows]
