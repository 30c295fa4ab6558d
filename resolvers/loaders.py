"""Per-request dataloaders, built with the scope and the resolved membership."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from orgs.contacts import repository as contacts
from orgs.models import Action, Consent
from orgs.scoping import Membership
from resolvers.context import Context


class ConsentsBySupporterLoader(DataLoader[int, list[Consent]]):
    """Consents each supporter gave to the acting org."""

    def __init__(self, ctx: Context, membership: Membership) -> None:
        async def load(keys: Sequence[int]) -> list[list[Consent]]:
            found = await contacts.consents_by_supporter(
                await ctx.session(), ctx.scope, membership, keys
            )
            return [found[k] for k in keys]

        super().__init__(load_fn=load)


class ActionsBySupporterLoader(DataLoader[int, list[tuple[Action, str, str]]]):
    """Each supporter's actions the org may see, with the page name and the org's view."""

    def __init__(self, ctx: Context, membership: Membership) -> None:
        async def load(keys: Sequence[int]) -> list[list[tuple[Action, str, str]]]:
            found = await contacts.actions_by_supporter(
                await ctx.session(), ctx.scope, membership, keys
            )
            return [found[k] for k in keys]

        super().__init__(load_fn=load)


def loader(ctx: Context, cls: type[Any], membership: Membership) -> Any:
    """The request's loader of ``cls`` for this org and campaign (created on first use)."""
    key = f"{cls.__name__}:{membership.org_id}:{membership.campaign.id}"
    if key not in ctx.loaders:
        ctx.loaders[key] = cls(ctx, membership)
    return ctx.loaders[key]
