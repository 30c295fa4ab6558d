"""Per-IP and per-page rate limits for public submissions (the ``limits`` library).

An over-limit submission is not refused: it gets the normal answer and is stored flagged
(not counted, not delivered, visible to the page's org for review), so a bot learns nothing.
Storage is in memory by default (per process; embedded mode runs one process); any storage
URI the ``limits`` library knows (e.g. ``redis://host``) shares the limits between processes.
"""

from __future__ import annotations

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter


class IntakeLimiter:
    def __init__(self, per_ip: str, per_page: str, storage_uri: str = "memory://") -> None:
        self._limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))
        self._per_ip = parse(per_ip)
        self._per_page = parse(per_page)

    def flag(self, ip: str | None, page_id: int) -> str | None:
        """Count one submission; return why it is over a limit, or None when it is not."""
        if ip and not self._limiter.hit(self._per_ip, "intake-ip", ip):
            return "rate_limit_ip"
        if not self._limiter.hit(self._per_page, "intake-page", str(page_id)):
            return "rate_limit_page"
        return None
