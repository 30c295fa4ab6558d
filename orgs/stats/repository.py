"""Aggregate counts of a campaign (not personal data; who may see which is orgs/stats/service).

Two stores, both written as actions arrive, neither scanned per view:

- ``stat_counter`` (orgs/intake/repository.py writes it in the signature's own statement):
  totals per page and metric, exact at once: supporters, actions per type, countries,
  double opt-in asked and confirmed.
- ``stat_rollup``: counts per page, UTC day, dimension and key, summed from each action's
  facts (:data:`_FACTS`) by the workers' roll-up (:func:`roll_up`, a batch every second).
  The signature's statement queues its action in ``stat_queue``; the roll-up takes it out
  as it sums it. A breakdown reads the rolled-up rows plus the facts of the few queued
  actions, so it is exact even while the roll-up lags (or no worker runs).

Dimensions of ``stat_rollup`` (``key`` in brackets; "signatures" are counted, first-on-
the-page actions that are not shares):

========== ============================================================================
type       counted first-on-the-page actions of every type [action type]
people     signatures and new supporters [``new``: the person's first counted action in
           the campaign; ``returning``: someone already counted]
source     signatures [utm_source, or the referring host, "" when none]
medium     signatures [utm_medium]
utm        signatures [utm_campaign]
country    new supporters [the country typed with that signature]
referral   signatures that came through a share [``<generation>|<sharer's page id>|<medium>``]
share      shares (``share``, ``share_click``) [the medium shared to]
flagged    actions not counted, outside test mode [why: ``altcha``, ``rejected``, ...]
========== ============================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import Connection, TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

DIMENSIONS = (
    "type",
    "people",
    "source",
    "medium",
    "utm",
    "country",
    "referral",
    "share",
    "flagged",
)
Dimension = Literal[
    "type", "people", "source", "medium", "utm", "country", "referral", "share", "flagged"
]
KEY_LENGTH = 300
ROLL_UP_BATCH = 5000
_ROLL_UP_LOCK = 0x5354_4154  # one roll-up at a time across every worker process

# Which (dimension, key) pairs one action adds. The one definition of what each dimension
# counts: the roll-up adds these, un-rolling subtracts them, a breakdown adds them for the
# queued actions. {where} selects the actions.
_FACTS = """
SELECT a.id, a.action_page_id, a.campaign_id, a.org_id,
       CAST(timezone('UTC', a.created_at) AS date) AS day, d.dimension,
       left(d.key, 300) AS key
FROM action a
LEFT JOIN contact_ref sharer ON sharer.id = a.referred_by_ref_id
CROSS JOIN LATERAL (
  SELECT NOT a.testing AND a.flagged IS NULL AS counted,
         a.action_type = 'share' OR a.action_type LIKE 'share\\_%' AS shared
) f
CROSS JOIN LATERAL (
  SELECT f.counted AND a.dupe_rank = 0 AND NOT f.shared AS signature
) s
CROSS JOIN LATERAL (VALUES
  ('type', a.action_type, f.counted AND a.dupe_rank = 0),
  ('people', CASE WHEN a.new_supporter THEN 'new' ELSE 'returning' END,
   f.counted AND (a.new_supporter OR s.signature)),
  ('source', COALESCE(a.source, ''), s.signature),
  ('medium', COALESCE(a.medium, ''), s.signature),
  ('utm', COALESCE(a.tracking_campaign, ''), s.signature),
  ('country', a.country, f.counted AND a.new_supporter AND a.country IS NOT NULL),
  ('referral', a.referral_generation || '|' || COALESCE(CAST(sharer.action_page_id AS text), '')
               || '|' || COALESCE(a.medium, ''),
   s.signature AND a.referral_generation > 0),
  ('share', COALESCE(a.custom_fields ->> 'medium', a.medium, ''),
   f.counted AND a.action_type IN ('share', 'share_click')),
  ('flagged', a.flagged, NOT a.testing AND a.flagged IS NOT NULL)
) AS d(dimension, key, wanted)
WHERE d.wanted AND {where}
"""

_UPSERT = """
INSERT INTO stat_rollup (action_page_id, day, dimension, key, campaign_id, org_id, n)
SELECT action_page_id, day, dimension, key, campaign_id, org_id, {sign} count(*)
FROM ({facts}) facts
GROUP BY action_page_id, day, dimension, key, campaign_id, org_id
ORDER BY action_page_id, day, dimension, key
ON CONFLICT (action_page_id, day, dimension, key) DO UPDATE SET n = stat_rollup.n + EXCLUDED.n
"""


def _compact(sql: str) -> str:
    return " ".join(sql.split())


_ROLL_UP_SQL = """
WITH batch AS (
  DELETE FROM stat_queue WHERE action_id IN (
    SELECT action_id FROM stat_queue WHERE (SELECT pg_try_advisory_xact_lock({lock}))
    LIMIT :limit FOR UPDATE SKIP LOCKED)
  RETURNING action_id AS id
),
summed AS ({upsert})
SELECT count(*) FROM batch
"""
_ROLL_UP = text(
    _compact(
        _ROLL_UP_SQL.format(
            lock=_ROLL_UP_LOCK,
            upsert=_UPSERT.format(
                sign="", facts=_FACTS.format(where="a.id IN (SELECT id FROM batch)")
            ),
        )
    )
)


def roll_up(conn: Connection, limit: int = ROLL_UP_BATCH) -> int:
    """Add the facts of up to ``limit`` queued actions to ``stat_rollup``; the number of
    actions rolled up (0 when none wait or another worker is rolling up)."""
    return int(conn.execute(_ROLL_UP, {"limit": limit}).scalar_one())


_SUPPORTER_ACTIONS = text("SELECT id FROM action WHERE supporter_id = :id")
_LOCK_QUEUED = text(
    "SELECT action_id FROM stat_queue WHERE action_id = ANY(CAST(:ids AS bigint[])) FOR UPDATE"
)
_UNROLL_SQL = """
WITH requeued AS (
  INSERT INTO stat_queue (action_id, campaign_id)
  SELECT id, campaign_id FROM action WHERE id = ANY(CAST(:ids AS bigint[]))
)
{upsert}
"""
_UNROLL = text(
    _compact(
        _UNROLL_SQL.format(
            upsert=_UPSERT.format(
                sign="-", facts=_FACTS.format(where="a.id = ANY(CAST(:ids AS bigint[]))")
            )
        )
    )
)


async def unroll_supporter(conn: AsyncConnection, supporter_id: int) -> None:
    """Take the supporter's rolled-up actions back out of ``stat_rollup`` and queue them
    again, before they change (they are flagged ``rejected``): the roll-up then adds them
    as they are.

    Their queued rows are locked first: a roll-up summing them finishes before this reads
    which are rolled up, and no roll-up takes them until this transaction ends.
    """
    ids = [int(i) for i in (await conn.execute(_SUPPORTER_ACTIONS, {"id": supporter_id})).scalars()]
    if not ids:
        return
    queued = {int(i) for i in (await conn.execute(_LOCK_QUEUED, {"ids": ids})).scalars()}
    rolled = [i for i in ids if i not in queued]
    if rolled:
        await conn.execute(_UNROLL, {"ids": rolled})


async def queued_actions(conn: AsyncConnection) -> int:
    """Actions not rolled up yet (an operator's gauge of the roll-up's lag, /metrics)."""
    return int((await conn.execute(text("SELECT count(*) FROM stat_queue"))).scalar_one())


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Which counts a read covers: a campaign, optionally one org's pages and a day range."""

    campaign_id: int
    org_id: int | None = None  # None: every page of the campaign
    first: date | None = None
    last: date | None = None

    def params(self) -> dict[str, object]:
        return {
            "campaign_id": self.campaign_id,
            "org_id": self.org_id,
            "first": self.first,
            "last": self.last,
        }


_WINDOW = (
    "campaign_id = :campaign_id"
    " AND (CAST(:org_id AS bigint) IS NULL OR org_id = :org_id)"
    " AND (CAST(:first AS date) IS NULL OR day >= :first)"
    " AND (CAST(:last AS date) IS NULL OR day <= :last)"
)
_PENDING = _FACTS.format(
    where=(
        # ANY(ARRAY(...)): the queued ids first, then one index probe each, whatever the
        # planner believes of the queue (its statistics go stale as it fills and drains)
        "a.id = ANY(ARRAY(SELECT action_id FROM stat_queue WHERE campaign_id = :campaign_id))"
        " AND (CAST(:org_id AS bigint) IS NULL OR a.org_id = :org_id)"
    )
)


_AGGREGATE_SQL = """
SELECT {columns}, sum(n) AS n FROM (
  SELECT action_page_id, org_id, day, key, n FROM stat_rollup
  WHERE dimension = :dimension AND {window}
  UNION ALL
  SELECT action_page_id, org_id, day, key, 1 FROM ({pending}) pending
  WHERE dimension = :dimension AND {window}
) counted
GROUP BY {columns} HAVING sum(n) <> 0 ORDER BY {columns}
"""


def _aggregate(columns: str) -> TextClause:
    """Counts of one dimension in a window, grouped by ``columns``: the rolled-up rows plus
    the facts of the actions not rolled up yet; zero groups left out."""
    sql = _AGGREGATE_SQL.format(columns=columns, window=_WINDOW, pending=_PENDING)
    return text(_compact(sql))


_BY_KEY = _aggregate("key")
_BY_DAY_KEY = _aggregate("day, key")
_BY_PAGE_KEY = _aggregate("action_page_id, key")
_BY_ORG_KEY = _aggregate("org_id, key")


def _params(window: Window, dimension: Dimension) -> dict[str, object]:
    return {**window.params(), "dimension": dimension}


async def by_key(
    conn: AsyncConnection, window: Window, dimension: Dimension
) -> list[tuple[str, int]]:
    rows = await conn.execute(_BY_KEY, _params(window, dimension))
    return [(str(key), int(n)) for key, n in rows]


async def by_org_key(
    conn: AsyncConnection, window: Window, dimension: Dimension
) -> list[tuple[int, str, int]]:
    """(org of the page, key, count)."""
    rows = await conn.execute(_BY_ORG_KEY, _params(window, dimension))
    return [(int(org), str(key), int(n)) for org, key, n in rows]


async def by_day_key(
    conn: AsyncConnection, window: Window, dimension: Dimension
) -> list[tuple[date, str, int]]:
    rows = await conn.execute(_BY_DAY_KEY, _params(window, dimension))
    return [(day, str(key), int(n)) for day, key, n in rows]


async def by_page_key(
    conn: AsyncConnection, window: Window, dimension: Dimension
) -> list[tuple[int, str, int]]:
    rows = await conn.execute(_BY_PAGE_KEY, _params(window, dimension))
    return [(int(page), str(key), int(n)) for page, key, n in rows]


_COUNTERS = text(
    _compact(
        """
        SELECT split_part(c.metric, '|', 1) AS metric, sum(c.value) AS value
        FROM stat_counter c
        WHERE c.campaign_id = :campaign_id
          AND (CAST(:org_id AS bigint) IS NULL OR c.action_page_id IN (
               SELECT id FROM action_page WHERE org_id = :org_id))
        GROUP BY 1 HAVING sum(c.value) <> 0
        """
    )
)


async def counters(conn: AsyncConnection, campaign_id: int, org_id: int | None) -> dict[str, int]:
    """The campaign's counters (``stat_counter``, shards summed), of every page or of one
    org's pages: ``supporters``, ``actions:<type>``, ``cactions:<type>``,
    ``country:<code>``, ``doi:asked``, ``doi:confirmed``."""
    rows = await conn.execute(_COUNTERS, {"campaign_id": campaign_id, "org_id": org_id})
    return {str(metric): int(value) for metric, value in rows}


_PAGES = text(
    _compact(
        """
        SELECT p.id, p.name, o.id, o.name FROM action_page p JOIN org o ON o.id = p.org_id
        WHERE p.campaign_id = :campaign_id ORDER BY o.name, p.name
        """
    )
)


@dataclass(frozen=True)
class PageName:
    page_id: int
    page: str
    org_id: int
    org: str


async def campaign_pages(conn: AsyncConnection, campaign_id: int) -> list[PageName]:
    """Every page of the campaign with its org's name."""
    rows = await conn.execute(_PAGES, {"campaign_id": campaign_id})
    return [PageName(int(i), str(p), int(oi), str(o)) for i, p, oi, o in rows]
