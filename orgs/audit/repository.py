"""SQL for the audit log (who did what, when)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import AuditEvent
from orgs.scoping import Scope


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
