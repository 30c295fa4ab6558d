"""Public intake: the transport's facts (IP, referrer, Idempotency-Key), then the service.

The write path uses SQLAlchemy Core on the request's connection (one transaction, committed
by the unit-of-work extension), never the ORM unit of work: see orgs/intake/repository.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from hub.settings import Settings
from orgs.crypto import Keyring
from orgs.intake import service
from orgs.intake.abuse import DatabaseLimiter, IntakeLimiter, Limiter
from orgs.intake.pages import PageCache
from orgs.intake.service import IntakeOptions, Receipt, RequestMeta
from resolvers.context import Context

_LIMITERS: dict[tuple[str, str, str], Limiter] = {}


def limiter_for(per_ip: str, per_page: str, storage: str) -> Limiter:
    """One limiter per configuration and process (the memory storage lives in it)."""
    key = (per_ip, per_page, storage)
    if key not in _LIMITERS:
        _LIMITERS[key] = (
            DatabaseLimiter(per_ip, per_page)
            if storage == "database"
            else IntakeLimiter(per_ip, per_page, storage)
        )
    return _LIMITERS[key]


def options(ctx: Context) -> IntakeOptions:
    app = ctx.request.scope.get("app") if ctx.request is not None else None
    pages = getattr(getattr(app, "state", None), "intake_pages", None)
    return intake_options(ctx.settings, ctx.keyring, pages)


def intake_options(
    settings: Settings, keyring: Keyring, pages: PageCache | None = None
) -> IntakeOptions:
    """The intake's options for this instance (the GraphQL and the form path share them).

    ``pages``: the app's cache of pages' intake facts (orgs/intake/pages.py), if it has one.
    """
    return IntakeOptions(
        keyring=keyring,
        limiter=limiter_for(
            settings.intake_rate_per_ip, settings.intake_rate_per_page, settings.rate_limit_storage
        ),
        window_seconds=settings.intake_retry_window_seconds,
        own_host=urlsplit(settings.public_url).hostname,
        ref_ttl_seconds=settings.contact_ref_ttl_days * 86400,
        pages=pages,
    )


def request_meta(ctx: Context) -> RequestMeta:
    return meta_of(ctx.request)


def meta_of(request: Request | None, flagged: str | None = None) -> RequestMeta:
    """What the transport knows about a submission: address, referrer, Idempotency-Key."""
    if request is None:
        return RequestMeta(flagged=flagged)
    return RequestMeta(
        flagged=flagged,
        ip=request.client.host if request.client else None,
        referer=request.headers.get("referer"),
        idempotency_key=request.headers.get("idempotency-key"),
        origin=request.headers.get("origin"),
        altcha=request.headers.get("x-altcha"),
    )


async def add_action_contact(ctx: Context, page_id: int, **submission: Any) -> Receipt:
    conn = await (await ctx.session()).connection()
    return await service.add_action_contact(
        conn, options(ctx), page_id, meta=request_meta(ctx), **submission
    )


async def add_action(ctx: Context, page_id: int, **submission: Any) -> Receipt:
    conn = await (await ctx.session()).connection()
    return await service.add_action(
        conn, options(ctx), page_id, meta=request_meta(ctx), **submission
    )


async def link_actions(ctx: Context, page_id: int, contact_ref: str, refs: list[str]) -> Receipt:
    conn = await (await ctx.session()).connection()
    return await service.link_actions(
        conn, options(ctx), page_id, contact_ref=contact_ref, link_refs=refs
    )
