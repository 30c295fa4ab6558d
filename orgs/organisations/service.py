"""Creating and reading orgs."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import Org
from orgs.organisations import repository

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")


class OrgError(ValueError):
    """A user-fixable problem creating or changing an org."""


async def create_org(
    session: AsyncSession, name: str, title: str, settings: dict[str, Any] | None = None
) -> Org:
    if not SLUG.match(name):
        raise OrgError(
            f"org name {name!r} must be 2-63 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    if await repository.org_by_name(session, name) is not None:
        raise OrgError(f"an org named {name!r} already exists")
    org = Org(name=name, title=title.strip() or name, settings=settings or {})
    session.add(org)
    await session.flush()
    return org
