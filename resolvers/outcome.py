"""Run a service call in the request's unit of work; a user-fixable outcome comes back as data.

``attempt(ctx, service.add_campaign, org=..., name=...)`` calls the service with the request's
session and scope, type-checked against the service's own signature (no untyped wrapper).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.errors import DomainError
from orgs.scoping import Scope
from resolvers.context import Context

P = ParamSpec("P")
T = TypeVar("T")


async def attempt(
    ctx: Context,
    call: Callable[Concatenate[AsyncSession, Scope, P], Awaitable[T]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T | DomainError:
    """The service's result, or the :class:`DomainError` it raised (nothing was changed)."""
    try:
        return await call(await ctx.session(), ctx.scope, *args, **kwargs)
    except DomainError as error:
        return error
