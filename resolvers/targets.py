"""Mail to target: the public reads (cached like the counters) and the managers' reads."""

from __future__ import annotations

from orgs.models import DeliveryStatus, MailToTarget
from orgs.targets import repository, service
from orgs.targets.intake import postcode_key
from orgs.targets.repository import PublicSettings, PublicTarget, TargetTally
from orgs.targets.service import AreaView, MessageView, TargetError, TargetView
from resolvers.context import Context
from resolvers.public import TtlCache

_TARGETS: TtlCache[tuple[int, str | None, str | None], list[PublicTarget]] = TtlCache()
_TALLIES: TtlCache[int, list[TargetTally]] = TtlCache()
_SETTINGS: TtlCache[int, PublicSettings] = TtlCache()


def normalise_postcode(postcode: str | None) -> str | None:
    return postcode_key(postcode)  # the same reading as the intake's check


async def public_targets(
    ctx: Context, campaign_id: int, area: str | None, postcode: str | None
) -> list[PublicTarget]:
    """A campaign's targets as the public may see them (never an address)."""
    key = (campaign_id, (area or "").strip()[:100] or None, normalise_postcode(postcode))

    async def load() -> list[PublicTarget]:
        conn = await (await ctx.session()).connection()
        return await repository.public_targets(conn, key[0], key[1], key[2])

    return await _TARGETS.get(key, ctx.settings.public_cache_seconds, load)


async def public_tallies(ctx: Context, campaign_id: int) -> list[TargetTally]:
    async def load() -> list[TargetTally]:
        conn = await (await ctx.session()).connection()
        return await repository.public_counts(conn, campaign_id)

    return await _TALLIES.get(campaign_id, ctx.settings.public_cache_seconds, load)


async def public_settings(ctx: Context, campaign_id: int) -> PublicSettings:
    async def load() -> PublicSettings:
        conn = await (await ctx.session()).connection()
        return await repository.public_settings(conn, campaign_id)

    return await _SETTINGS.get(campaign_id, ctx.settings.public_cache_seconds, load)


async def campaign_targets(ctx: Context, campaign: str) -> list[TargetView] | None:
    """None for anyone but the campaign's managers (another campaign looks missing)."""
    try:
        return await service.campaign_targets(await ctx.session(), ctx.scope, campaign)
    except TargetError:
        return None


async def campaign_target_areas(ctx: Context, campaign: str) -> list[AreaView] | None:
    """None for anyone but the campaign's managers (another campaign looks missing)."""
    try:
        return await service.campaign_target_areas(await ctx.session(), ctx.scope, campaign)
    except TargetError:
        return None


async def has_targets(ctx: Context, campaign_id: int) -> bool:
    """Whether the campaign has targets; the caller resolved ``campaign_id`` through its
    scope (a stats view)."""
    conn = await (await ctx.session()).connection()
    return await repository.has_targets(conn, campaign_id)


async def settings(ctx: Context, campaign: str) -> MailToTarget | None:
    try:
        return await service.current_settings(await ctx.session(), ctx.scope, campaign)
    except TargetError:
        return None


async def messages(
    ctx: Context,
    campaign: str,
    status: DeliveryStatus | None,
    target: str | None,
    after: int | None,
    first: int,
) -> list[MessageView] | None:
    try:
        return await service.messages(
            await ctx.session(),
            ctx.scope,
            ctx.keyring,
            campaign,
            status=status,
            target=target,
            after=after,
            first=first,
        )
    except TargetError:
        return None
