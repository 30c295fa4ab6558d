"""SQL of connector and delivery management, always through the caller's scope."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from orgs.models import Connector, Delivery, DeliveryStatus
from orgs.scoping import Scope
from permissions.roles import Permission

MANAGE = Permission.MANAGE_CONNECTORS


async def connectors(session: AsyncSession, scope: Scope, org_id: int) -> list[Connector]:
    result = await session.execute(
        select(Connector)
        .where(col(Connector.org_id) == org_id, scope.org_filter(col(Connector.org_id), MANAGE))
        .order_by(col(Connector.id))
    )
    return list(result.scalars())


async def connector(session: AsyncSession, scope: Scope, connector_id: int) -> Connector | None:
    result = await session.execute(
        select(Connector).where(
            col(Connector.id) == connector_id, scope.org_filter(col(Connector.org_id), MANAGE)
        )
    )
    return result.scalar_one_or_none()


async def deliveries(
    session: AsyncSession,
    scope: Scope,
    org_id: int,
    *,
    status: str | None,
    connector_id: int | None,
    after: int | None,
    first: int,
) -> list[Delivery]:
    query = select(Delivery).where(
        col(Delivery.org_id) == org_id, scope.org_filter(col(Delivery.org_id), MANAGE)
    )
    if status is not None:
        query = query.where(col(Delivery.status) == status)
    if connector_id is not None:
        query = query.where(col(Delivery.connector_id) == connector_id)
    if after is not None:
        query = query.where(col(Delivery.id) < after)
    result = await session.execute(query.order_by(col(Delivery.id).desc()).limit(first))
    return list(result.scalars())


async def retry(
    session: AsyncSession, scope: Scope, org_id: int, ids: list[int] | None, now: datetime
) -> int:
    """Failed deliveries of the org (all, or those listed) become pending again, due now."""
    query = (
        update(Delivery)
        .where(
            col(Delivery.org_id) == org_id,
            scope.org_filter(col(Delivery.org_id), MANAGE),
            col(Delivery.status) == DeliveryStatus.FAILED.value,
        )
        .values(
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            updated_at=now,
        )
    )
    if ids is not None:
        query = query.where(col(Delivery.id).in_(ids))
    result = await session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


async def status_counts(session: AsyncSession) -> dict[str, int]:
    """Instance-wide outbox sizes by status, for /metrics (no personal data)."""
    result = await session.execute(
        select(col(Delivery.status), func.count()).group_by(col(Delivery.status))
    )
    return {str(status): int(count) for status, count in result.all()}
