"""Connectors (org-owned, secrets encrypted at rest) and the org's view of its deliveries."""

from __future__ import annotations

import secrets as tokens
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.audit import repository as audit
from orgs.crypto import Keyring
from orgs.delivery import connectors, repository
from orgs.delivery.outbound import OutboundGuard
from orgs.models import (
    Connector,
    Delivery,
    DeliveryEvent,
    DeliveryStatus,
    utcnow,
)
from orgs.scoping import Scope
from permissions.roles import Permission

MAX_PAGE = 200


class ConnectorErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    UNKNOWN_KIND = "UNKNOWN_KIND"
    INVALID_CONFIG = "INVALID_CONFIG"


@dataclass(frozen=True)
class ConnectorError:
    field: tuple[str, ...]
    code: ConnectorErrorCode
    message: str


NOT_FOUND = ConnectorError(("input", "org"), ConnectorErrorCode.NOT_FOUND, "No such org")


async def add_connector(
    session: AsyncSession,
    scope: Scope,
    keyring: Keyring,
    org_id: int,
    *,
    kind: str,
    name: str,
    config: dict[str, Any],
    secrets: dict[str, Any],
    guard: OutboundGuard,
) -> Connector | list[ConnectorError]:
    """Save a connector whose config passes its kind's check and the outbound guard.

    The guard refuses, on the URL's field, hosts that are not on the public internet
    (literal addresses in any spelling, ``localhost``, names resolving to one) unless the
    operator allows private targets. Nothing is sent to the target.
    """
    if not scope.allows(org_id, Permission.MANAGE_CONNECTORS):
        return [NOT_FOUND]
    if kind not in connectors.KINDS:
        return [ConnectorError(("input", "kind"), ConnectorErrorCode.UNKNOWN_KIND, kind)]
    problems = await connectors.check(kind, config, secrets, guard)
    if problems:
        return [
            ConnectorError(
                ("input", "config", p.field), ConnectorErrorCode.INVALID_CONFIG, p.message
            )
            for p in problems
        ]
    row = Connector(
        org_id=org_id,
        kind=kind,
        name=name[:100],
        config=config,
        secrets_encrypted=keyring.encrypt_json(secrets) if secrets else None,
    )
    session.add(row)
    await session.flush()
    await _audit(session, scope, org_id, "connector.added", row)
    return row


async def set_enabled(
    session: AsyncSession, scope: Scope, connector_id: int, enabled: bool
) -> Connector | None:
    row = await repository.connector(session, scope, connector_id)
    if row is None:
        return None
    row.enabled = enabled
    row.updated_at = utcnow()
    await session.flush()
    await _audit(
        session, scope, row.org_id, "connector.enabled" if enabled else "connector.disabled", row
    )
    return row


async def _audit(
    session: AsyncSession, scope: Scope, org_id: int, action: str, row: Connector
) -> None:
    await audit.record(
        session, scope, org_id, action, "connector", row.id, {"kind": row.kind, "name": row.name}
    )


async def deliveries(
    session: AsyncSession,
    scope: Scope,
    org_id: int,
    *,
    status: str | None = None,
    connector_id: int | None = None,
    after: int | None = None,
    first: int = 50,
) -> list[Delivery]:
    return await repository.deliveries(
        session,
        scope,
        org_id,
        status=status,
        connector_id=connector_id,
        after=after,
        first=max(1, min(first, MAX_PAGE)),
    )


async def retry_failed(
    session: AsyncSession,
    scope: Scope,
    org_id: int,
    ids: list[int] | None,
    now: datetime,
    connector_id: int | None = None,
) -> int:
    return await repository.retry(session, scope, org_id, ids, now, connector_id)


async def connector_health(
    session: AsyncSession, scope: Scope, org_id: int, now: datetime
) -> dict[int, repository.ConnectorHealth]:
    return await repository.connector_health(session, scope, org_id, now)


async def test_connector(
    session: AsyncSession, scope: Scope, connector_id: int, now: datetime
) -> Delivery | None:
    """Plan a ``connector_test`` delivery for this connector only; None: not found.

    Nothing is sent here (no network inside a request's transaction): the worker sends a
    fixed test event with no personal data and records delivered or failed with the reason,
    like any delivery; the caller follows it in ``deliveries``.
    """
    row = await repository.connector(session, scope, connector_id)
    if row is None or row.id is None:
        return None
    delivery = Delivery(
        org_id=row.org_id,
        connector_id=row.id,
        event=DeliveryEvent.CONNECTOR_TEST.value,
        status=DeliveryStatus.PENDING.value,
        next_attempt_at=now,
        idempotency_key=f"{DeliveryEvent.CONNECTOR_TEST.value}:c{row.id}:{tokens.token_hex(8)}",
        created_at=now,
        updated_at=now,
    )
    session.add(delivery)
    await session.flush()
    await _audit(session, scope, row.org_id, "connector.tested", row)
    return delivery
