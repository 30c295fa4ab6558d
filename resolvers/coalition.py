"""Coalition lifecycle: thin calls into orgs/campaigns/coalition.py, errors as data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from orgs.campaigns import coalition
from orgs.campaigns.coalition import CoalitionError
from orgs.models import ActionPage, Campaign, CampaignStatus, PartnerRole, Partnership
from resolvers.context import Context

Row = Campaign | Partnership | ActionPage


@dataclass
class Outcome:
    row: Row | None = None
    errors: list[CoalitionError] = field(default_factory=list)


async def _run(ctx: Context, call: Callable[..., Awaitable[Row]], **kwargs: Any) -> Outcome:
    try:
        return Outcome(row=await call(await ctx.session(), ctx.scope, **kwargs))
    except CoalitionError as e:
        return Outcome(errors=[e])


def _op(call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Outcome]]:
    async def resolve(ctx: Context, **kwargs: Any) -> Outcome:
        if kwargs.get("role") is not None:
            kwargs["role"] = PartnerRole(kwargs["role"])
        if kwargs.get("status") is not None:
            kwargs["status"] = CampaignStatus(kwargs["status"])
        return await _run(ctx, call, **kwargs)

    resolve.__name__ = call.__name__
    resolve.__doc__ = call.__doc__
    return resolve


add_campaign = _op(coalition.add_campaign)
update_campaign = _op(coalition.update_campaign)
close_campaign = _op(coalition.close_campaign)
transfer_lead = _op(coalition.transfer_lead)
invite_partner = _op(coalition.invite_partner)
accept_partnership = _op(coalition.accept_partnership)
decline_partnership = _op(coalition.decline_partnership)
request_to_join = _op(coalition.request_to_join)
approve_partner = _op(coalition.approve_partner)
reject_partner = _op(coalition.reject_partner)
leave_campaign = _op(coalition.leave_campaign)
remove_partner = _op(coalition.remove_partner)
set_delivery_org = _op(coalition.set_delivery_org)
add_action_page = _op(coalition.add_action_page)
request_launch = _op(coalition.request_launch)
approve_launch = _op(coalition.approve_launch)
reject_launch = _op(coalition.reject_launch)
pause_page = _op(coalition.pause_page)
close_page = _op(coalition.close_page)
