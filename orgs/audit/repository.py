"""SQL for the audit log (who did what, when)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from orgs.models import ApiToken, AuditEvent, User
from orgs.scoping import Scope
from permissions.roles import Permission

# subjects whose ids are not shown: a supporter's id is the same in every org that holds
# them, so it would let two orgs match their lists (the org's own Contact.ref is the handle)
HIDDEN_SUBJECT_IDS = frozenset({"supporter"})


async def record(
    session: AsyncSession,
    scope: Scope,
    org_id: int,
    action: str,
    subject_type: str,
    subject_id: int | None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event for ``org_id``, attributed to the scope's subject."""
    event = AuditEvent(
        org_id=org_id,
        actor_user_id=scope.subject.user_id,
        actor_token_id=scope.subject.token_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details=details or {},
    )
    session.add(event)
    await session.flush()
    return event


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    action: str
    actor_email: str | None  # the staff member who acted
    actor_token: str | None  # or the API token's name
    subject_type: str | None
    subject_id: int | None
    details: dict[str, Any]


async def events(
    session: AsyncSession,
    scope: Scope,
    org_id: int,
    *,
    first: int,
    before_id: int | None = None,
    action_prefix: str | None = None,
) -> list[AuditEntry]:
    """The org's audit events, newest first (needs READ_AUDIT in the org)."""
    query = (
        select(AuditEvent, col(User.email), col(ApiToken.name))
        .outerjoin(User, col(User.id) == col(AuditEvent.actor_user_id))
        .outerjoin(ApiToken, col(ApiToken.id) == col(AuditEvent.actor_token_id))
        .where(
            col(AuditEvent.org_id) == org_id,
            scope.org_filter(col(AuditEvent.org_id), Permission.READ_AUDIT),
        )
    )
    if before_id is not None:
        query = query.where(col(AuditEvent.id) < before_id)
    if action_prefix:
        query = query.where(col(AuditEvent.action).startswith(action_prefix, autoescape=True))
    rows = await session.execute(query.order_by(col(AuditEvent.id).desc()).limit(first))
    out = []
    for event, email, token in rows.all():
        assert event.id is not None
        hidden = event.subject_type in HIDDEN_SUBJECT_IDS
        out.append(
            AuditEntry(
                id=event.id,
                at=event.created_at,
                action=event.action,
                actor_email=None if token else email,
                actor_token=token,
                subject_type=event.subject_type,
                subject_id=None if hidden else event.subject_id,
                details=dict(event.details or {}),
            )
        )
    return out
