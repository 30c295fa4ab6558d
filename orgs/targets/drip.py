"""Drip sending: when each message to a target may leave, as pure functions of a window.

A campaign's sending window is a range of dates (inclusive, either end open), daily hours
(``[start, end)`` in minutes after local midnight) and a time zone; its per-target hourly cap
``n`` spaces the slots of one target ``3600 / n`` seconds apart. Each new message takes the
target's next free slot: the later of *now* and the target's last slot plus the spacing,
moved forward into the window when it falls outside. So one target receives a steady stream
of at most ``n`` messages in any hour (a half-open hour holds at most ``n`` slots spaced
``3600 / n`` apart), and no slot lies outside the window.

The workers check the same window and cap again when they send (a message planned inside
the window may be picked up late, after an outage): see :meth:`Window.next_open`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 24 * 60
DEFAULT_HOURLY_CAP = 60
MAX_HOURLY_CAP = 3600


def zone(name: str) -> ZoneInfo | None:
    """The IANA time zone ``name``, or None when it is unknown."""
    if not name or len(name) > 64 or ".." in name or name.startswith("/"):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_clock(value: str) -> int | None:
    """``"HH:MM"`` as minutes after midnight (``"24:00"`` is the end of the day); None if not."""
    hours, sep, minutes = value.partition(":")
    if not sep or len(hours) != 2 or len(minutes) != 2:
        return None
    if not (hours.isdigit() and minutes.isdigit()):
        return None
    total = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or total > MINUTES_PER_DAY:
        return None
    return total


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Window:
    """Where and how fast one campaign's messages may go to each target."""

    timezone: str = "UTC"
    starts_on: date | None = None
    ends_on: date | None = None  # inclusive
    daily_start: int = 0  # minutes after local midnight
    daily_end: int = MINUTES_PER_DAY  # exclusive; > daily_start
    hourly_cap: int = DEFAULT_HOURLY_CAP

    @property
    def spacing(self) -> timedelta:
        return timedelta(seconds=3600 / max(1, self.hourly_cap))

    def _zone(self) -> ZoneInfo:
        return zone(self.timezone) or ZoneInfo("UTC")

    def _local(self, day: date, minutes: int) -> datetime:
        """The instant of ``minutes`` after midnight of ``day`` in the window's zone (UTC)."""
        if minutes >= MINUTES_PER_DAY:
            return self._local(day + timedelta(days=1), minutes - MINUTES_PER_DAY)
        wall = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self._zone())
        # a wall time a DST change skips is read with the offset before the change
        return wall.astimezone(UTC)

    def _open_on(self, day: date) -> tuple[datetime, datetime] | None:
        if self.starts_on is not None and day < self.starts_on:
            return None
        if self.ends_on is not None and day > self.ends_on:
            return None
        return self._local(day, self.daily_start), self._local(day, self.daily_end)

    def is_open(self, at: datetime) -> bool:
        return self.next_open(at) == at

    def next_open(self, at: datetime) -> datetime | None:
        """The first instant at or after ``at`` inside the window; None when it has ended."""
        at = at.astimezone(UTC)
        day = at.astimezone(self._zone()).date() - timedelta(days=1)  # a window may span days
        if self.starts_on is not None and day < self.starts_on:
            day = self.starts_on - timedelta(days=1)
        for _ in range(3 + 366 * 2):  # bounded: a window is at most a few years long
            if self.ends_on is not None and day > self.ends_on:
                return None
            opened = self._open_on(day)
            if opened is not None:
                start, end = opened
                if at < end:
                    return max(at, start)
            day += timedelta(days=1)
        return None

    def slot_after(self, previous: datetime | None, now: datetime) -> datetime | None:
        """The next free slot of a target whose last slot was ``previous``; None: the window
        has ended (or ends before a free slot)."""
        candidate = now if previous is None else max(now, previous + self.spacing)
        return self.next_open(candidate)

    def slots(self, previous: datetime | None, now: datetime, count: int) -> list[datetime]:
        """The next ``count`` slots of one target (fewer when the window ends first)."""
        out: list[datetime] = []
        for _ in range(count):
            slot = self.slot_after(previous, now)
            if slot is None:
                break
            out.append(slot)
            previous = slot
        return out
