"""What anyone may read of a public campaign beyond its totals (Proca's public reads).

Counts are not personal data, and each page's counters are public already
(``actionPage { stats }``): the count per org is their sum, shown for the orgs with a live or
closed page in the campaign and the lead (an org whose pages are all drafts or paused is not
revealed as a partner; its supporters still count in the campaign's total). Recent actions
show only what ``orgs.scoping`` makes public.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from orgs.models import Campaign, Org
from orgs.public import repository
from orgs.scoping import MAX_PUBLIC_ACTIONS, public_action_keys, public_custom_fields


@dataclass(frozen=True)
class OrgSupporters:
    name: str
    title: str
    privacy_policy_url: str | None
    supporters: int


async def supporters_by_org(
    conn: AsyncConnection, campaign: Campaign, lead: Org
) -> list[OrgSupporters]:
    """Supporters per org, most first (frozen counters while the lead froze them)."""
    assert campaign.id is not None
    frozen = (campaign.frozen_counts or {}).get("pages")
    totals: dict[str, list[Any]] = {}
    for page in await repository.page_supporters(conn, campaign.id):
        count = page.supporters
        if frozen is not None:
            count = int((frozen.get(str(page.page_id)) or {}).get("supporters", 0))
        entry = totals.setdefault(
            page.org_name, [page.org_title, page.privacy_policy_url, 0, False]
        )
        entry[2] += count
        entry[3] = entry[3] or page.public or page.org_name == lead.name
    shown = [
        OrgSupporters(name, title, url, count)
        for name, (title, url, count, public) in totals.items()
        if public and count > 0
    ]
    return sorted(shown, key=lambda o: (-o.supporters, o.name))


@dataclass(frozen=True)
class PublicAction:
    id: int
    action_type: str
    created_at: datetime
    country: str | None
    custom_fields: dict[str, Any]


async def recent_actions(
    conn: AsyncConnection, campaign: Campaign, action_type: str, limit: int
) -> tuple[list[str], list[PublicAction]]:
    """(public custom field keys, the latest actions of that type, newest first), at most
    ``MAX_PUBLIC_ACTIONS``."""
    assert campaign.id is not None
    keys = public_action_keys(campaign.config or {}, action_type)
    limit = max(0, min(limit, MAX_PUBLIC_ACTIONS))
    if limit == 0:
        return keys, []
    rows = await repository.recent_actions(conn, campaign.id, action_type, limit)
    return keys, [
        PublicAction(
            r.id,
            r.action_type,
            r.created_at,
            r.country,
            public_custom_fields(r.custom_fields, keys),
        )
        for r in rows
    ]
