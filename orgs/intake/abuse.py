"""Per-IP and per-page rate limits for public submissions (the ``limits`` library).

An over-limit submission is not refused: it gets the normal answer and is stored flagged
(not counted, not delivered, visible to the page's org for review), so a bot learns nothing.
Storage (``HUB_RATE_LIMIT_STORAGE``): ``memory://`` (per process; embedded mode runs one
process), ``database`` (the hub's PostgreSQL: shared by every API process, counted in the
signature's transaction), or any storage URI the ``limits`` library knows (``redis://host``).
"""

from __future__ import annotations

import secrets
from typing import Protocol

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy.ext.asyncio import AsyncConnection

from orgs.intake import repository


class Limiter(Protocol):
    #: counted in the submission's transaction (such a submission is never group-committed)
    needs_connection: bool

    async def flag(self, conn: AsyncConnection | None, ip: str | None, page_id: int) -> str | None:
        """Count one submission; why it is over a limit, or None."""
        ...


class IntakeLimiter:
    needs_connection = False

    def __init__(self, per_ip: str, per_page: str, storage_uri: str = "memory://") -> None:
        self._limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))
        self._per_ip = parse(per_ip)
        self._per_page = parse(per_page)

    async def flag(self, conn: AsyncConnection | None, ip: str | None, page_id: int) -> str | None:
        """Count one submission; return why it is over a limit, or None when it is not."""
        if ip and not self._limiter.hit(self._per_ip, "intake-ip", ip):
            return "rate_limit_ip"
        if not self._limiter.hit(self._per_page, "intake-page", str(page_id)):
            return "rate_limit_page"
        return None


PAGE_SHARDS = 8


class DatabaseLimiter:
    """Fixed windows counted in PostgreSQL, in the submission's own transaction."""

    needs_connection = True

    def __init__(self, per_ip: str, per_page: str) -> None:
        self._per_ip = parse(per_ip)
        self._per_page = parse(per_page)

    async def _over(self, conn: AsyncConnection, key: str, amount: int, width: int) -> bool:
        return await repository.hit_rate_limit(conn, key, width) > amount

    async def flag(self, conn: AsyncConnection | None, ip: str | None, page_id: int) -> str | None:
        assert conn is not None, "the database limiter counts in the submission's transaction"
        if secrets.randbelow(1000) == 0:
            await repository.sweep_rate_limits(conn)
        ip_limit, page_limit = self._per_ip, self._per_page
        if ip and await self._over(conn, f"ip:{ip}", ip_limit.amount, ip_limit.get_expiry()):
            return "rate_limit_ip"
        # the page's counter is split over shards so that concurrent signatures on a viral page
        # do not queue behind one row lock; each shard allows its share of the limit
        shard = secrets.randbelow(PAGE_SHARDS)
        share = -(-page_limit.amount // PAGE_SHARDS)
        if await self._over(conn, f"page:{page_id}:{shard}", share, page_limit.get_expiry()):
            return "rate_limit_page"
        return None
