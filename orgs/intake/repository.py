"""SQL of the public write path: few statements, SQLAlchemy Core, no ORM unit of work.

A signature is three round trips: the supporter upsert (which also serialises concurrent
submissions of the same person), one data-modifying CTE writing the action, contacts,
consents, counters and the issued contactRef, and the outbox rows (orgs/outbox/). The
supporter upsert takes the supporter row's lock, so the CTE that follows (a new snapshot
under READ COMMITTED) sees every earlier submission of that person: duplicate checks and
counters stay exact under concurrency without serialisable transactions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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
class SupporterRow:
    id: int
    confirmation: str


_UPSERT_SUPPORTER = text(
    """
    INSERT INTO supporter (campaign_id, fingerprint, first_action_page_id, confirmation,
                           country, testing)
    VALUES (:campaign_id, :fingerprint, :page_id, 'none', :country, :testing)
    ON CONFLICT (campaign_id, fingerprint) DO UPDATE
       SET country = COALESCE(EXCLUDED.country, supporter.country),
           testing = supporter.testing AND EXCLUDED.testing,
           erased_at = NULL
    RETURNING id, confirmation
    """
)


async def upsert_supporter(
    conn: AsyncConnection,
    *,
    campaign_id: int,
    fingerprint: bytes,
    page_id: int,
    country: str | None,
    testing: bool,
) -> SupporterRow:
    """Create or find the campaign's supporter with this fingerprint, and lock its row.

    The lock (ON CONFLICT DO UPDATE) lasts until commit: a concurrent submission of the
    same person waits here, then sees this one's rows.
    """
    row = (
        await conn.execute(
            _UPSERT_SUPPORTER,
            {
                "campaign_id": campaign_id,
                "fingerprint": fingerprint,
                "page_id": page_id,
                "country": country,
                "testing": testing,
            },
        )
    ).one()
    return SupporterRow(row.id, row.confirmation)


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
    """Everything one submission writes after the supporter upsert."""

    page: IntakePage
    supporter_id: int | None  # None: an anonymous follow-up, identified by ``anonymous_ref``
    anonymous_ref: str | None
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
    confirm: bool  # start double opt-in (supporter becomes 'confirming')
    doi_asked: bool  # this signature asks the person to confirm for the first time
    recipients: list[int]  # orgs told of this action if they hold a Contact (orgs/scoping.py)
    link_refs: list[str]
    issue_ref: tuple[bytes, str] | None  # (hash, referral code) of the capability to issue
    shard: int
    count_supporter: bool  # a follow-up never adds a supporter to the count


@dataclass(frozen=True)
class WriteResult:
    action_id: int | None  # None: a retry within the window, nothing was written
    dupe_rank: int
    delivery_org_ids: list[int]


_PRIOR_SUPPORTER = """
    SELECT
      count(*) FILTER (WHERE a.action_page_id = :page_id AND a.action_type = :action_type
                         AND a.testing = :testing
                         AND CAST(:window AS integer) > 0
                         AND a.custom_fields = CAST(:custom_fields AS jsonb)
                         AND a.created_at > now() - make_interval(secs => :window)) AS recent,
      count(*) FILTER (WHERE a.action_page_id = :page_id AND a.action_type = :action_type
                         AND a.testing = :testing AND a.flagged IS NULL) AS rank,
      count(*) FILTER (WHERE a.action_type = :action_type AND a.testing = :testing
                         AND a.flagged IS NULL) AS campaign_rank,
      count(*) FILTER (WHERE NOT a.testing AND a.flagged IS NULL) AS counted_before
    FROM action a WHERE a.supporter_id = :supporter_id
"""

_PRIOR_ANONYMOUS = """
    SELECT
      count(*) FILTER (WHERE a.action_page_id = :page_id AND a.action_type = :action_type
                         AND a.testing = :testing
                         AND CAST(:window AS integer) > 0
                         AND a.custom_fields = CAST(:custom_fields AS jsonb)
                         AND a.created_at > now() - make_interval(secs => :window)) AS recent,
      count(*) FILTER (WHERE a.action_page_id = :page_id AND a.action_type = :action_type
                         AND a.testing = :testing AND a.flagged IS NULL) AS rank,
      count(*) FILTER (WHERE a.action_type = :action_type AND a.testing = :testing
                         AND a.flagged IS NULL) AS campaign_rank,
      1 AS counted_before
    FROM action a WHERE a.ref = :anonymous_ref AND a.campaign_id = :campaign_id
      AND a.supporter_id IS NULL
"""

_WRITE = """
WITH prior AS ({prior}),
keyed AS (
  SELECT 1 FROM action
  WHERE CAST(:idempotency_key AS text) IS NOT NULL
    AND action_page_id = :page_id AND idempotency_key = :idempotency_key
),
referrer AS (
  SELECT id, supporter_id, action_id FROM contact_ref
  WHERE CAST(:referral_code AS text) IS NOT NULL AND referral_code = :referral_code
    AND campaign_id = :campaign_id
    AND supporter_id IS DISTINCT FROM CAST(:supporter_id AS bigint)
),
ins AS (
  INSERT INTO action (org_id, campaign_id, action_page_id, supporter_id, action_type,
                      custom_fields, source, medium, tracking_campaign, content, location,
                      referrer_host, referred_by_supporter_id, referred_by_ref_id, ref,
                      dupe_rank, testing, flagged, idempotency_key, country, new_supporter,
                      referral_generation)
  SELECT :org_id, :campaign_id, :page_id, :supporter_id, :action_type,
         CAST(:custom_fields AS jsonb), :source, :medium, :tracking_campaign, :content,
         :location, :referrer_host, (SELECT supporter_id FROM referrer LIMIT 1),
         (SELECT id FROM referrer LIMIT 1), :anonymous_ref,
         prior.rank, :testing, :flagged, :idempotency_key, :country,
         prior.counted_before = 0 AND :count_supporter AND :counted,
         CASE WHEN EXISTS (SELECT 1 FROM referrer)
              THEN 1 + COALESCE((SELECT ra.referral_generation FROM action ra
                                 WHERE ra.id = (SELECT action_id FROM referrer LIMIT 1)), 0)
              ELSE 0 END
  FROM prior
  WHERE prior.recent = 0 AND NOT EXISTS (SELECT 1 FROM keyed)
  ON CONFLICT (action_page_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING id, dupe_rank
),
contacts AS (
  INSERT INTO contact (supporter_id, org_id, scope, payload, ref)
  SELECT :supporter_id, c.org_id, c.scope, c.payload, c.ref
  FROM ins, unnest(CAST(:contact_orgs AS bigint[]), CAST(:contact_scopes AS text[]),
                   CAST(:contact_payloads AS bytea[]), CAST(:contact_refs AS text[]))
       AS c(org_id, scope, payload, ref)
  ON CONFLICT (supporter_id, org_id) DO UPDATE
     SET payload = CASE WHEN contact.scope = 'full' AND EXCLUDED.scope = 'delivery'
                        THEN contact.payload ELSE EXCLUDED.payload END,
         scope = CASE WHEN contact.scope = 'full' THEN 'full' ELSE EXCLUDED.scope END,
         updated_at = now(),
         disabled_at = NULL
  RETURNING org_id
),
consents AS (
  INSERT INTO consent (supporter_id, org_id, action_page_id, action_id, purpose, given,
                       wording_version, method)
  SELECT :supporter_id, c.org_id, :page_id, ins.id, c.purpose, c.given, :consent_version,
         :consent_method
  FROM ins, unnest(CAST(:consent_orgs AS bigint[]), CAST(:consent_purposes AS text[]),
                   CAST(:consent_given AS boolean[])) AS c(org_id, purpose, given)
),
confirm AS (
  UPDATE supporter SET confirmation = 'confirming'
  WHERE :confirm AND id = :supporter_id AND confirmation IN ('none', 'rejected')
    AND EXISTS (SELECT 1 FROM ins)
),
issued AS (
  INSERT INTO contact_ref (ref_hash, supporter_id, org_id, campaign_id, action_page_id,
                           action_id, referral_code)
  SELECT CAST(:ref_hash AS bytea), :supporter_id, :org_id, :campaign_id, :page_id,
         (SELECT id FROM ins), :new_referral_code
  WHERE CAST(:ref_hash AS bytea) IS NOT NULL
),
linked AS (
  UPDATE action SET supporter_id = :supporter_id
  WHERE cardinality(CAST(:link_refs AS text[])) > 0 AND campaign_id = :campaign_id
    AND org_id = :org_id AND supporter_id IS NULL AND ref = ANY(CAST(:link_refs AS text[]))
),
queued AS (
  INSERT INTO stat_queue (action_id, campaign_id) SELECT id, :campaign_id FROM ins
),
counters AS (
  INSERT INTO stat_counter (action_page_id, metric, campaign_id, value)
  SELECT :page_id, m.metric, :campaign_id, 1
  FROM ins CROSS JOIN prior CROSS JOIN LATERAL (VALUES
      ('actions:' || :action_type || '|' || :shard, ins.dupe_rank = 0),
      ('cactions:' || :action_type || '|' || :shard, prior.campaign_rank = 0),
      ('supporters|' || :shard, prior.counted_before = 0 AND :count_supporter),
      ('country:' || COALESCE(:country, '') || '|' || :shard,
       prior.counted_before = 0 AND :count_supporter AND CAST(:country AS text) IS NOT NULL),
      ('doi:asked|' || :shard, :doi_asked)
  ) AS m(metric, wanted)
  WHERE m.wanted AND :counted
  ON CONFLICT (action_page_id, metric) DO UPDATE SET value = stat_counter.value + 1
)
SELECT (SELECT id FROM ins) AS action_id,
       (SELECT dupe_rank FROM ins) AS dupe_rank,
       ARRAY(SELECT org_id FROM contacts
             UNION
             SELECT org_id FROM contact
             WHERE supporter_id = :supporter_id AND disabled_at IS NULL
               AND org_id = ANY(CAST(:recipients AS bigint[]))) AS delivery_orgs
"""


def _compact(sql: str) -> str:
    """One-line SQL: under psycopg's 4 KB limit for caching the parsed query (measured: the
    multi-line text cost about 0.5 ms of parsing per signature)."""
    return " ".join(sql.split())


_WRITE_SUPPORTER = text(_compact(_WRITE.format(prior=_PRIOR_SUPPORTER)))
_WRITE_ANONYMOUS = text(_compact(_WRITE.format(prior=_PRIOR_ANONYMOUS)))


async def write_action(conn: AsyncConnection, row: ActionRow) -> WriteResult:
    """Write the action and what goes with it in one statement (see the module docstring).

    Nothing is written when the same person (or anonymous ref) took the same action on the
    same page within the window, or when the idempotency key was already used on the page.
    """
    page = row.page
    params: dict[str, Any] = {
        "page_id": page.id,
        "org_id": page.org_id,
        "campaign_id": page.campaign_id,
        "supporter_id": row.supporter_id,
        "anonymous_ref": row.anonymous_ref,
        "action_type": row.action_type,
        "custom_fields": json.dumps(row.custom_fields, separators=(",", ":")),
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
        "contact_orgs": [c[0] for c in row.contacts],
        "contact_scopes": [c[1] for c in row.contacts],
        "contact_payloads": [c[2] for c in row.contacts],
        "contact_refs": [c[3] for c in row.contacts],
        "consent_orgs": [c[0] for c in row.consents],
        "consent_purposes": [c[1] for c in row.consents],
        "consent_given": [c[2] for c in row.consents],
        "consent_version": row.consent_version,
        "consent_method": row.consent_method,
        "confirm": row.confirm,
        "doi_asked": row.doi_asked,
        "recipients": row.recipients,
        "link_refs": row.link_refs,
        "ref_hash": row.issue_ref[0] if row.issue_ref else None,
        "new_referral_code": row.issue_ref[1] if row.issue_ref else None,
        "shard": str(row.shard),
        "counted": not row.testing and row.flagged is None,
        "count_supporter": row.count_supporter,
    }
    statement = _WRITE_SUPPORTER if row.supporter_id is not None else _WRITE_ANONYMOUS
    result = (await conn.execute(statement, params)).one()
    return WriteResult(
        action_id=result.action_id,
        dupe_rank=result.dupe_rank or 0,
        delivery_org_ids=sorted(result.delivery_orgs or []),
    )


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
