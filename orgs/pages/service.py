"""Action pages (widget instances)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import ActionPage, Campaign, Org, PageStatus
from orgs.pages import repository

PAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9_./-]{1,126}$")


class PageError(ValueError):
    """A user-fixable problem with a page request."""


class PageExists(PageError):
    """A page of that name exists (page names are global: they carry the org's prefix)."""


async def create_page(
    session: AsyncSession,
    org: Org,
    campaign: Campaign,
    name: str,
    *,
    locale: str = "en",
    config: dict[str, Any] | None = None,
    status: PageStatus = PageStatus.DRAFT,
) -> ActionPage:
    """A page of ``org`` named ``<org name>/<rest>``: the prefix keeps tenants' names apart
    (a page name never claims another org's prefix), so ``actionPage(name:)`` stays global."""
    if not PAGE_NAME.match(name):
        raise PageError(f"page name {name!r} must be lowercase letters, digits and - _ . /")
    if not name.startswith(f"{org.name}/") or len(name) <= len(org.name) + 1:
        raise PageError(f"page names start with your org's name: {org.name}/...")
    if await repository.page_by_name(session, name) is not None:
        raise PageExists(f"a page named {name!r} already exists")
    assert org.id is not None
    assert campaign.id is not None
    page = ActionPage(
        org_id=org.id,
        campaign_id=campaign.id,
        name=name,
        locale=locale,
        config=config or {},
        status=status.value,
    )
    session.add(page)
    await session.flush()
    return page
