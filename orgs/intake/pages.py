"""The pages' intake facts (``IntakePage``) cached per API process, invalidated by NOTIFY.

DESIGN. A signature needs its page's facts (org, campaign, lead and delivery orgs, double
opt-in, consent versions, embed hosts) before it writes: loading them was one round trip per
signature. Each process keeps them here; triggers on ``action_page``, ``campaign``, ``org``
and ``partnership`` (migration 0010) ``NOTIFY intake_page`` with ``page:<id>``,
``campaign:<id>`` or ``org:<id>``, and one listener task per process (started in the app's
lifespan, :func:`listen`) drops the entries concerned.

The cache is trusted only while its listener is connected: before the first connection,
while reconnecting and after a drop nothing is served from it, and it is cleared whenever
the listener (re)connects, since notifications sent in between were lost. Entries also
expire after ``HUB_INTAKE_PAGE_CACHE_SECONDS`` (a bounded age if a notification is ever
missed, e.g. a half-open TCP connection). A load that raced a notification is not kept (a
generation counter). Only live pages are kept: a page that is closed, paused, unpublished
or whose campaign has not started yet is read again each time.

Correctness does not rest on notification latency for what matters: the write itself
(``intake_write_row``, migration 0011) re-checks in SQL that the page and its campaign are
live, and the service then reloads the page to answer PAGE_CLOSED or PAGE_NOT_FOUND at once.
The other facts are settings that change rarely; a change reaches every process within the
notification's latency (milliseconds).

No personal data is ever put here: only the configuration of pages.
"""

from __future__ import annotations

import asyncio
import time

import psycopg
import structlog

from orgs.intake.repository import IntakePage

CHANNEL = "intake_page"
RECONNECT_MAX_SECONDS = 5.0

log = structlog.get_logger(__name__)


class PageCache:
    """Live pages' intake facts by page id, valid while the listener is connected."""

    def __init__(self, max_age: float, maxsize: int = 4096) -> None:
        self.max_age = max_age
        self.maxsize = maxsize
        self.listening = False
        self.generation = 0  # bumped by every invalidation: a racing load is not kept
        self._items: dict[int, tuple[float, IntakePage]] = {}

    @property
    def enabled(self) -> bool:
        return self.listening and self.max_age > 0

    def get(self, page_id: int) -> IntakePage | None:
        if not self.enabled:
            return None
        hit = self._items.get(page_id)
        if hit is None:
            return None
        if hit[0] <= time.monotonic():
            del self._items[page_id]
            return None
        return hit[1]

    def put(self, page: IntakePage, generation: int) -> None:
        """Keep ``page`` if nothing was invalidated since ``generation`` was read."""
        if not self.enabled or generation != self.generation:
            return
        if len(self._items) >= self.maxsize:
            self._items.clear()
        self._items[page.id] = (time.monotonic() + self.max_age, page)

    def forget(self, page_id: int) -> None:
        self.generation += 1
        self._items.pop(page_id, None)

    def invalidate(self, payload: str) -> None:
        """Drop what a notification (``page:1``, ``campaign:2``, ``org:3``) concerns."""
        self.generation += 1
        kind, _, raw = payload.partition(":")
        if not raw.isdigit():
            self._items.clear()
            return
        ident = int(raw)
        field = {"page": "id", "campaign": "campaign_id", "org": "org_id"}.get(kind)
        if field is None:
            self._items.clear()
            return
        stale = [
            key
            for key, (_, page) in self._items.items()
            if getattr(page, field) == ident
            or (kind == "org" and ident in (page.lead_org_id, page.delivery_org_id))
        ]
        for key in stale:
            del self._items[key]

    def clear(self) -> None:
        self.generation += 1
        self._items.clear()

    def connected(self) -> None:
        """The listener (re)connected: what was missed meanwhile is unknown, start afresh."""
        self.clear()
        self.listening = True

    def disconnected(self) -> None:
        self.listening = False
        self.clear()


async def listen(cache: PageCache, url: str) -> None:
    """LISTEN for page changes until cancelled, reconnecting (with backoff) when dropped."""
    delay = 0.1
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(
                url,
                autocommit=True,
                keepalives=1,
                keepalives_idle=30,
                keepalives_interval=10,
                keepalives_count=3,
            )
            async with conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                cache.connected()
                delay = 0.1
                async for note in conn.notifies():
                    cache.invalidate(note.payload)
        except asyncio.CancelledError:
            cache.disconnected()
            raise
        except Exception as exc:  # any failure: nothing cached until listening again
            log.warning("intake_page_listener_lost", error=type(exc).__name__)
        cache.disconnected()
        await asyncio.sleep(delay)
        delay = min(delay * 2, RECONNECT_MAX_SECONDS)
