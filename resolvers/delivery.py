"""Connectors and deliveries: the org by name within the caller's scope, then the service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from orgs.delivery import repository, service
from orgs.delivery.outbound import OutboundGuard
from orgs.delivery.service import NOT_FOUND, ConnectorError
from orgs.models import Connector, Delivery, utcnow
from orgs.organisations import repository as organisations
from resolvers.context import Context


async def _org_id(ctx: Context, org: str) -> int | None:
    row = await organisations.member_org_by_name(await ctx.session(), ctx.scope, org)
    return row.id if row is not None else None


async def connectors(ctx: Context, org: str) -> list[Connector]:
    org_id = await _org_id(ctx, org)
    if org_id is None:
        return []
    return await repository.connectors(await ctx.session(), ctx.scope, org_id)


async def deliveries(ctx: Context, org: str, **filters: Any) -> list[Delivery]:
    org_id = await _org_id(ctx, org)
    if org_id is None:
        return []
    return await service.deliveries(await ctx.session(), ctx.scope, org_id, **filters)


async def add_connector(ctx: Context, org: str, **fields: Any) -> Connector | list[ConnectorError]:
    org_id = await _org_id(ctx, org)
    if org_id is None:
        return [NOT_FOUND]
    guard = OutboundGuard(allow_private=ctx.settings.allow_private_targets)
    return await service.add_connector(
        await ctx.session(), ctx.scope, ctx.keyring, org_id, guard=guard, **fields
    )


async def set_connector_enabled(ctx: Context, connector_id: int, enabled: bool) -> Connector | None:
    return await service.set_enabled(await ctx.session(), ctx.scope, connector_id, enabled)


async def test_connector(ctx: Context, connector_id: int) -> Delivery | None:
    return await service.test_connector(await ctx.session(), ctx.scope, connector_id, utcnow())


async def retry_deliveries(
    ctx: Context, org: str, ids: list[int] | None, connector_id: int | None = None
) -> int | None:
    """Failed deliveries of the org queued again; None when the org is not the caller's."""
    org_id = await _org_id(ctx, org)
    if org_id is None:
        return None
    return await service.retry_failed(
        await ctx.session(), ctx.scope, org_id, ids, utcnow(), connector_id
    )


async def connector_health(
    ctx: Context, org_id: int, connector_id: int
) -> repository.ConnectorHealth:
    """A connector's health; one read per org and request for all its connectors."""
    key = f"connector-health:{org_id}"
    if key not in ctx.loaders:

        async def load(ids: Sequence[int]) -> list[repository.ConnectorHealth]:
            found = await service.connector_health(await ctx.session(), ctx.scope, org_id, utcnow())
            return [found.get(i, repository.ConnectorHealth()) for i in ids]

        ctx.loaders[key] = DataLoader(load_fn=load)
    health: repository.ConnectorHealth = await ctx.loaders[key].load(connector_id)
    return health
