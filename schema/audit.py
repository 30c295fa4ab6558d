"""The org's audit log: who exported, who changed roles, partnerships, pages and connectors."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from orgs.audit.repository import AuditEntry
from resolvers import audit as resolvers
from resolvers.context import Context
from schema.permissions import require_scope
from schema.scalars import JsonValue


@strawberry.type(description="One audited change or personal-data export.")
class AuditEvent:
    id: int
    at: datetime
    action: str = strawberry.field(description="e.g. contacts.export, partner.remove")
    actor_email: str | None = strawberry.field(description="The staff member who acted.")
    actor_token: str | None = strawberry.field(description="Or the API token (its name).")
    subject_type: str | None
    subject_id: int | None = strawberry.field(
        description="The changed row; null for supporters (the action's details say enough)."
    )
    details: JsonValue

    @classmethod
    def build(cls, entry: AuditEntry) -> AuditEvent:
        return cls(
            id=entry.id,
            at=entry.at,
            action=entry.action,
            actor_email=entry.actor_email,
            actor_token=entry.actor_token,
            subject_type=entry.subject_type,
            subject_id=entry.subject_id,
            details=JsonValue(entry.details),
        )


@strawberry.type
class AuditPage:
    nodes: list[AuditEvent]
    end_cursor: str | None = strawberry.field(description="Pass as `after` for older events.")


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="The org's audit log, newest first (owners; empty for anyone else). "
        "`action` keeps the events whose action starts with it (e.g. `partner.`).",
        permission_classes=[require_scope("audit:read")],
    )
    async def audit_log(
        self,
        info: Info[Context, None],
        org: str,
        action: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> AuditPage:
        before = int(after) if after and after.isdigit() else None
        found = await resolvers.audit_log(info.context, org, action, first, before)
        end = str(found[-1].id) if found else None
        return AuditPage(nodes=[AuditEvent.build(e) for e in found], end_cursor=end)
