"""An org's own settings (owners, or tokens with org:write)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import strawberry
from strawberry.types import Info

from orgs.organisations import service
from orgs.organisations.service import OrgErrorCode
from resolvers.context import Context
from resolvers.outcome import attempt
from schema.org import Org
from schema.permissions import require_scope
from schema.results import field_error, operation, respond

OrgError = field_error("OrgError", OrgErrorCode, "A problem with an org settings change.")
UpdateOrg = operation("UpdateOrg", OrgError, org=Org)
if TYPE_CHECKING:  # generated at run time (schema/results.py); opaque to mypy
    UpdateOrgResult: TypeAlias = Any
else:
    UpdateOrgResult = UpdateOrg.result


@strawberry.input
class UpdateOrgInput:
    org: str
    title: str | None = None
    privacy_policy_url: str | None = strawberry.field(
        default=None, description="Linked next to the consent boxes of the org's pages."
    )
    embed_hosts: list[str] | None = strawberry.field(
        default=None, description="Only these sites (and their subdomains) may embed the pages."
    )
    sender_name: str | None = strawberry.field(
        default=None,
        description="Display name of the mails sent for the org (the address stays "
        "the hub's, so they pass SPF/DMARC).",
    )
    reply_to: str | None = strawberry.field(
        default=None, description="Reply-To of the org's mails (empty: none)."
    )
    double_opt_in: bool | None = strawberry.field(
        default=None, description="Pages ask signers to confirm by mail unless they say otherwise."
    )


@strawberry.type
class OrganisationMutation:
    @strawberry.mutation(
        permission_classes=[require_scope("org:write")],
        description="Change your org's settings.",
    )
    async def update_org(self, info: Info[Context, None], input: UpdateOrgInput) -> UpdateOrgResult:
        done = await attempt(
            info.context,
            service.update_org,
            input.org,
            title=input.title,
            privacy_policy_url=input.privacy_policy_url,
            embed_hosts=input.embed_hosts,
            sender_name=input.sender_name,
            reply_to=input.reply_to,
            double_opt_in=input.double_opt_in,
        )
        return respond(UpdateOrg, done, lambda row: UpdateOrg.success(org=Org.from_row(row)))
