"""SQL of the public write path: few statements, SQLAlchemy Core, no ORM unit of work.

DESIGN. A signature is one round trip: the server-side function ``intake_write`` (migration
0011; ``intake_write_row`` plus ``intake_count``) takes ONE jsonb argument (orjson-encoded,
bytea as base64: one parameter adapted, the statement prepared once per connection) and
returns jsonb. Python decides everything that needs judgement (validation, the visibility
rule of orgs/scoping.py, flags, encryption) and the function only writes what it was told:
the supporter upsert, the action, contacts, consents, contactRef, counters and the outbox
rows (connectors' deliveries, thank-you or confirmation mail), with double opt-in's
``waiting``, confirm and doi:asked computed from the supporter's confirmation as read there.

The function is VOLATILE: under READ COMMITTED each statement inside takes a new snapshot,
so the supporter upsert's row lock (ON CONFLICT DO UPDATE, held until commit) serialises
concurrent submissions of one person and the statements that follow see every earlier one:
duplicate checks and counters stay exact without serialisable transactions. The function
also re-checks that the page and its campaign are live (the page's facts may come from a
process cache, orgs/intake/pages.py) and writes nothing when not (``refused``).

Counter increments are returned by ``intake_write_row`` and applied by ``intake_count`` in
(page, metric) order, so a batch of rows (orgs/intake/group.py) applies them once, in one
lock order. Follow-ups (``add_action``) go through the same function.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from orgs.campaigns import consent
from orgs.stats import repository as stats

COUNTER_SHARDS = 8  # counter rows per metric and page: concurrent signatures rarely wait


@dataclass(frozen=True)
class IntakePage:
    """What the write path needs to know about a page, loaded in one query."""

    id: int
    name: str
    status: str
    org_id: int
    campaign_id: int
    campaign_status: str
    lead_org_id: int
    delivery_org_id: int | None
    double_opt_in: bool
    thank_you_email: bool
    altcha: bool
    consent_version: str | None  # the current wording of the page's locale
    consent_versions: frozenset[str]
    embed_hosts: tuple[str, ...]
    org_title: str
    campaign_title: str


_PAGE = text(
    """
    SELECT p.id, p.name, p.status, p.org_id, p.campaign_id, p.double_opt_in, p.config, p.locale,
           p.thank_you_mail,
           o.settings, o.title AS org_title,
           -- a live campaign takes signatures from starts_at until ends_at
           CASE WHEN c.status = 'live' AND c.ends_at <= now() THEN 'closed'
                WHEN c.status = 'live' AND c.starts_at > now() THEN 'draft'
                ELSE c.status END AS campaign_status,
           c.org_id AS lead_org_id, c.consent_texts, c.title AS campaign_title,
           (SELECT d.org_id FROM partnership d
             WHERE d.campaign_id = c.id AND d.delivery AND d.status = 'active'
             LIMIT 1) AS delivery_org_id
    FROM action_page p
    JOIN org o ON o.id = p.org_id
    JOIN campaign c ON c.id = p.campaign_id
    WHERE p.id = :page_id
    """
)


async def load_page(conn: AsyncConnection, page_id: int) -> IntakePage | None:
    row = (await conn.execute(_PAGE, {"page_id": page_id})).mappings().first()
    if row is None:
        return None
    settings: dict[str, Any] = row["settings"] or {}
    double_opt_in = row["double_opt_in"]
    if double_opt_in is None:
        double_opt_in = bool(settings.get("doubleOptIn", settings.get("double_opt_in", False)))
    texts: dict[str, Any] = row["consent_texts"] or {}
    shown = consent.wording(texts, row["locale"])
    hosts = settings.get("embed_hosts") or settings.get("embedHosts") or []
    return IntakePage(
        id=row["id"],
        name=row["name"],
        status=row["status"],
        org_id=row["org_id"],
        campaign_id=row["campaign_id"],
        campaign_status=row["campaign_status"],
        lead_org_id=row["lead_org_id"],
        delivery_org_id=row["delivery_org_id"],
        double_opt_in=bool(double_opt_in),
        thank_you_email=bool(row["thank_you_mail"]),
        altcha=bool((row["config"] or {}).get("altcha")),
        consent_version=shown.version if shown else None,
        consent_versions=consent.versions(texts),
        embed_hosts=tuple(str(host).lower() for host in hosts if isinstance(host, str)),
        org_title=row["org_title"],
        campaign_title=row["campaign_title"],
    )


@dataclass(frozen=True)
class IssuedRef:
    """A contactRef row found by its hash: who it was issued for, by which org, how long ago."""

    supporter_id: int
    org_id: int
    referral_code: str | None
    age_seconds: float
    confirmation: str


_REFS = text(
    """
    SELECT r.supporter_id, r.org_id, r.referral_code,
           extract(epoch FROM now() - r.created_at) AS age, s.confirmation
    FROM contact_ref r JOIN supporter s ON s.id = r.supporter_id
    WHERE r.ref_hash = :ref_hash AND r.campaign_id = :campaign_id AND s.erased_at IS NULL
    ORDER BY r.id
    FOR UPDATE OF s
    """
)


async def issued_refs(conn: AsyncConnection, campaign_id: int, ref_hash: bytes) -> list[IssuedRef]:
    """Every capability row of this ref in the campaign (a legacy ref may have one per org),
    its supporter's row locked like a signature's upsert (follow-ups stay serialised)."""
    rows = await conn.execute(_REFS, {"ref_hash": ref_hash, "campaign_id": campaign_id})
    return [
        IssuedRef(r.supporter_id, r.org_id, r.referral_code, float(r.age), r.confirmation)
        for r in rows
    ]


_REISSUE = text(
    """
    INSERT INTO contact_ref (ref_hash, supporter_id, org_id, campaign_id, action_page_id,
                             action_id, referral_code)
    SELECT :ref_hash, a.supporter_id, a.org_id, a.campaign_id, a.action_page_id, a.id,
           :referral_code
    FROM action a JOIN supporter s ON s.id = a.supporter_id
    WHERE a.action_page_id = :page_id AND a.idempotency_key = :key
      AND s.fingerprint = :fingerprint
    RETURNING id
    """
)
_KEY_USED = text("SELECT 1 FROM action WHERE action_page_id = :page_id AND idempotency_key = :key")


async def reissue_for_key(
    conn: AsyncConnection,
    page_id: int,
    key: str,
    fingerprint: bytes,
    ref_hash: bytes,
    referral_code: str,
) -> bool | None:
    """A request repeating an Idempotency-Key already used on the page: a fresh capability
    for the earlier signature (nothing else is written), when it carries the same address.
    True when issued; False when the key belongs to an anonymous follow-up or to another
    address's signature (a replayed key never hands out someone else's capability); None
    when the key is new."""
    issued = (
        await conn.execute(
            _REISSUE,
            {
                "page_id": page_id,
                "key": key,
                "fingerprint": fingerprint,
                "ref_hash": ref_hash,
                "referral_code": referral_code,
            },
        )
    ).first()
    if issued is not None:
        return True
    return False if await key_used(conn, page_id, key) else None


async def key_used(conn: AsyncConnection, page_id: int, key: str) -> bool:
    """Whether an earlier request used this Idempotency-Key on the page."""
    return (await conn.execute(_KEY_USED, {"page_id": page_id, "key": key})).first() is not None


@dataclass(frozen=True)
class ActionRow:
    """Everything one submission writes: what Python decided (scoping, validation, flags)."""

    page: IntakePage
    fingerprint: bytes | None  # a signature: its supporter is upserted by the write
    supporter_id: int | None  # a follow-up by a ref's holder (its row locked already)
    anonymous_ref: str | None  # neither: an anonymous follow-up, identified by its ref
    action_type: str
    custom_fields: dict[str, Any]
    source: str | None
    medium: str | None
    tracking_campaign: str | None
    content: str | None
    location: str | None
    referrer_host: str | None
    referral_code: str | None
    testing: bool
    flagged: str | None
    idempotency_key: str | None
    window_seconds: int
    country: str | None
    contacts: list[tuple[int, str, bytes, str]]  # (org_id, scope, encrypted payload, new ref)
    consents: list[tuple[int, str, bool]]  # (org_id, purpose, given)
    consent_version: str | None
    consent_method: str
    ask: bool  # a signature: may start double opt-in (the supporter becomes 'confirming')
    recipients: list[int]  # orgs told of this action if they hold a Contact (orgs/scoping.py)
    link_refs: list[str]
    issue_ref: tuple[bytes, str] | None  # (hash, referral code) of the capability to issue
    shard: int
    count_supporter: bool  # a follow-up never adds a supporter to the count
    mails: bool  # plan the thank-you or double opt-in mail (signatures)
    thank_you: bool  # the page sends a thank-you mail and the caller wants it


@dataclass(frozen=True)
class WriteResult:
    action_id: int | None  # None: a retry within the window, nothing was written
    dupe_rank: int
    delivery_org_ids: list[int]
    supporter_id: int | None = None
    waiting: bool = False  # deliveries held for double opt-in
    refused: bool = False  # the page or its campaign is not live: nothing was written


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def write_params(row: ActionRow) -> dict[str, Any]:
    """The one jsonb argument of ``intake_write_row`` (bytea as base64)."""
    page = row.page
    params: dict[str, Any] = {
        "page_id": page.id,
        "org_id": page.org_id,
        "campaign_id": page.campaign_id,
        "supporter_id": row.supporter_id,
        "anonymous_ref": row.anonymous_ref,
        "action_type": row.action_type,
        "custom_fields": row.custom_fields,
        "source": row.source,
        "medium": row.medium,
        "tracking_campaign": row.tracking_campaign,
        "content": row.content,
        "location": row.location,
        "referrer_host": row.referrer_host,
        "referral_code": row.referral_code,
        "testing": row.testing,
        "flagged": row.flagged,
        "idempotency_key": row.idempotency_key,
        "window": row.window_seconds,
        "country": row.country,
        "contacts": [[o, scope, _b64(payload), ref] for o, scope, payload, ref in row.contacts],
        "consents": [list(c) for c in row.consents],
        "consent_version": row.consent_version,
        "consent_method": row.consent_method,
        "double_opt_in": page.double_opt_in,
        "ask": row.ask,
        "recipients": row.recipients,
        "link_refs": row.link_refs,
        "ref_hash": _b64(row.issue_ref[0]) if row.issue_ref else None,
        "new_referral_code": row.issue_ref[1] if row.issue_ref else None,
        "shard": str(row.shard),
        "count_supporter": row.count_supporter,
        "mails": row.mails,
        "thank_you": row.thank_you,
    }
    if row.fingerprint is not None:
        params["fingerprint"] = _b64(row.fingerprint)
    return params


def read_result(value: dict[str, Any]) -> WriteResult:
    """A ``WriteResult`` from what ``intake_write_row`` returned."""
    if value.get("refused"):
        return WriteResult(None, 0, [], refused=True)
    return WriteResult(
        action_id=value.get("action_id"),
        dupe_rank=value.get("dupe_rank") or 0,
        delivery_org_ids=sorted(value.get("delivery_orgs") or []),
        supporter_id=value.get("supporter_id"),
        waiting=bool(value.get("waiting")),
    )


T = TypeVar("T")


async def on_driver(conn: AsyncConnection, call: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``call`` with the psycopg connection under ``conn``, in its transaction.

    A request session's shared connection (hub.db.SerialConnection) is used in its turn
    (its ``serial``), like every statement sent through it.
    """

    async def run() -> T:
        raw = await AsyncConnection.get_raw_connection(conn)
        return await call(raw.driver_connection)

    serial = getattr(conn, "serial", None)
    if serial is not None:
        return await serial.run(run)  # type: ignore[no-any-return]
    return await run()


_CALL = "SELECT CAST(intake_write(CAST(%s AS jsonb)) AS text)"


async def write_action(conn: AsyncConnection, row: ActionRow) -> WriteResult:
    """Write a submission in one round trip: the server-side ``intake_write`` (migration
    0011) upserts the supporter, writes the action, contacts, consents, contactRef, counters
    and outbox rows (see the module docstring).

    Nothing is written when the same person (or anonymous ref) took the same action on the
    same page within the window, when the idempotency key was already used on the page, or
    when the page or its campaign is no longer live (``refused``).
    """
    argument = orjson.dumps(write_params(row)).decode()

    async def call(driver: Any) -> str:
        cursor = await driver.execute(_CALL, (argument,), prepare=True)
        found = await cursor.fetchone()
        return str(found[0])

    return read_result(orjson.loads(await on_driver(conn, call)))


_LINK = text(
    """
    UPDATE action SET supporter_id = :supporter_id
    WHERE campaign_id = :campaign_id AND org_id = :org_id AND supporter_id IS NULL
      AND ref = ANY(:refs)
    """
)


async def link_actions(
    conn: AsyncConnection, *, campaign_id: int, org_id: int, supporter_id: int, refs: list[str]
) -> int:
    """Attach anonymous actions taken before signing, on pages of ``org_id``, to the supporter."""
    if not refs:
        return 0
    result = await conn.execute(
        _LINK,
        {"campaign_id": campaign_id, "org_id": org_id, "supporter_id": supporter_id, "refs": refs},
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- public counters --------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    supporters: int
    actions: dict[str, int]
    countries: dict[str, int]


def _fold(rows: Any, actions_metric: str) -> Counts:
    """Sum the sharded counter rows. ``actions_metric`` picks the scope of "a person's repeat
    counts once": ``actions:`` once per page, ``cactions:`` once per campaign."""
    supporters = 0
    actions: dict[str, int] = {}
    countries: dict[str, int] = {}
    for metric, value in rows:
        name = str(metric).rsplit("|", 1)[0]  # drop the shard suffix
        if name == "supporters":
            supporters += int(value)
        elif name.startswith(actions_metric):
            key = name.removeprefix(actions_metric)
            actions[key] = actions.get(key, 0) + int(value)
        elif name.startswith("country:"):
            key = name.removeprefix("country:")
            countries[key] = countries.get(key, 0) + int(value)
    return Counts(supporters, actions, countries)


_CAMPAIGN_COUNTS = text(
    "SELECT metric, value FROM stat_counter WHERE campaign_id = :campaign_id AND value <> 0"
)
_PAGE_COUNTS = text(
    "SELECT metric, value FROM stat_counter WHERE action_page_id = :page_id AND value <> 0"
)


async def campaign_counts(conn: AsyncConnection, campaign_id: int) -> Counts:
    return _fold(await conn.execute(_CAMPAIGN_COUNTS, {"campaign_id": campaign_id}), "cactions:")


async def page_counts(conn: AsyncConnection, page_id: int) -> Counts:
    return _fold(await conn.execute(_PAGE_COUNTS, {"page_id": page_id}), "actions:")


# --- rate limits counted in PostgreSQL (HUB_RATE_LIMIT_STORAGE=database) ---------------------

_HIT = text(
    """
    INSERT INTO rate_limit_counter (key, window_start, hits)
    VALUES (:key, to_timestamp(floor(extract(epoch FROM now()) / :width) * :width), 1)
    ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limit_counter.hits + 1
    RETURNING hits
    """
)
_SWEEP = text("DELETE FROM rate_limit_counter WHERE window_start < now() - interval '1 day'")


async def hit_rate_limit(conn: AsyncConnection, key: str, width: int) -> int:
    """Count one hit of ``key`` in its current fixed window of ``width`` seconds."""
    return int((await conn.execute(_HIT, {"key": key, "width": width})).scalar_one())


async def sweep_rate_limits(conn: AsyncConnection) -> None:
    await conn.execute(_SWEEP)


_UNCOUNT = text(
    """
    WITH counted AS (
      SELECT id, action_page_id, campaign_id, action_type, dupe_rank, created_at, country,
             new_supporter
      FROM action
      WHERE supporter_id = :id AND NOT testing AND flagged IS NULL
    ),
    first_of_type AS (
      SELECT DISTINCT ON (action_type) action_page_id, campaign_id, action_type FROM counted
      ORDER BY action_type, created_at, id
    ),
    lost AS (
      SELECT action_page_id, campaign_id, 'actions:' || action_type AS metric
      FROM counted WHERE dupe_rank = 0
      UNION ALL
      SELECT action_page_id, campaign_id, 'cactions:' || action_type FROM first_of_type
      UNION ALL
      SELECT action_page_id, campaign_id, 'supporters' FROM counted WHERE new_supporter
      UNION ALL
      SELECT action_page_id, campaign_id, 'country:' || country
      FROM counted WHERE new_supporter AND country IS NOT NULL
    ),
    uncounted AS (
      INSERT INTO stat_counter (action_page_id, metric, campaign_id, value)
      SELECT action_page_id, metric || '|0', campaign_id, -count(*) FROM lost
      GROUP BY action_page_id, metric, campaign_id
      ON CONFLICT (action_page_id, metric)
      DO UPDATE SET value = stat_counter.value + EXCLUDED.value
    )
    UPDATE action SET flagged = 'rejected' WHERE id IN (SELECT id FROM counted)
    """
)


async def uncount_supporter(conn: AsyncConnection, supporter_id: int) -> None:
    """Take a supporter out of every counter (they said "it wasn't me"): what their actions
    added is subtracted and the actions are flagged ``rejected``, so they count no more.

    The dashboard's roll-up takes them out first and counts them again as flagged.
    """
    await stats.unroll_supporter(conn, supporter_id)
    await conn.execute(_UNCOUNT, {"id": supporter_id})


# --- the demo's history (orgs/demo_history.py) --------------------------------------------------

_BACKDATE = (
    "UPDATE action a SET created_at = v.at FROM unnest(CAST(:ids AS bigint[]), "
    "CAST(:ats AS timestamptz[])) AS v(id, at) WHERE a.id = v.id",
    "UPDATE supporter s SET created_at = f.at FROM (SELECT supporter_id, min(created_at) AS at "
    "FROM action WHERE id = ANY(CAST(:ids AS bigint[])) GROUP BY supporter_id) f "
    "WHERE s.id = f.supporter_id",
    "UPDATE contact c SET created_at = s.created_at FROM supporter s "
    "WHERE s.id = c.supporter_id AND s.id IN (SELECT supporter_id FROM action "
    "WHERE id = ANY(CAST(:ids AS bigint[])))",
)


async def backdate_actions(
    conn: AsyncConnection, action_ids: list[int], ats: list[datetime]
) -> None:
    """Move actions (and their supporters' and contacts' first dates) back in time: the
    demo's made-up month. Before the roll-up sums them (it reads their day then)."""
    params: dict[str, Any] = {"ids": action_ids, "ats": ats}
    for statement in _BACKDATE:
        await conn.execute(text(statement), params)
