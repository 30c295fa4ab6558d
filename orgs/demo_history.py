"""A month of the demo campaign's history, so that the dashboard means something at once.

Signatures, shares and signatures brought by shares are recorded through the intake service
(the same statements, counters, consents and outbox rows as real ones), then moved back in
time over the last ``DAYS`` days, oldest first, so that "new to the campaign" and share
generations stay true. What it makes is drawn from a fixed seed: the same demo every time.

- sources, media and UTM campaigns of a coalition's usual channels (newsletters, social
  posts, ads), weighted per partner; countries in proportion to each partner's locale;
- a launch peak and a second mailing, with quieter days between;
- shares by medium, and signatures that came through them over three generations;
- some signatures flagged (a bot trap), some people signing on two pages (returning);
- one partner's CRM webhook that does not exist, so that its deliveries fail and retry.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from orgs.crypto import Keyring
from orgs.intake.service import IntakeOptions, Receipt, RequestMeta, add_action, add_action_contact
from orgs.models import ActionPage, Connector, ConnectorKind, utcnow

DAYS = 30
SIGNATURES = 1500
SEED = 20261101
FAILING_AFTER = 60  # the last signatures, the unreachable CRM added before them
FAILING_CRM = "https://crm.anglers-united.example.invalid/hook"

# (source, medium, UTM campaign, weight)
CHANNELS = (
    ("newsletter", "email", "launch-mailing", 30),
    ("newsletter", "email", "reminder-mailing", 14),
    ("facebook", "social", "launch-post", 12),
    ("instagram", "social", "launch-post", 7),
    ("mastodon", "social", "", 4),
    ("google", "cpc", "search-ads", 6),
    ("partner-site", "banner", "", 5),
    ("", "", "", 10),  # typed the address, or no tracking at all
)
COUNTRIES = {
    "en": (("GB", 50), ("IE", 15), ("NL", 10), ("BE", 10), ("DE", 5), ("FR", 10)),
    "fr": (("FR", 60), ("BE", 20), ("LU", 5), ("CH", 10), ("CA", 5)),
    "de": (("DE", 65), ("AT", 20), ("CH", 10), ("LU", 5)),
}
SHARE_MEDIA = (("whatsapp", 40), ("facebook", 25), ("x", 10), ("telegram", 10), ("email", 15))
T = TypeVar("T")
FIRST_NAMES = ("Alex", "Sam", "Maria", "Jan", "Lea", "Noor", "Ines", "Tom", "Ada", "Luca")


@dataclass
class _Signer:
    number: int  # which demo person
    receipt: Receipt
    page: ActionPage
    generation: int = 0


@dataclass
class History:
    signatures: int = 0
    shares: int = 0
    flagged: int = 0
    action_ids: list[int] = field(default_factory=list)


def _pick(rng: random.Random, weighted: tuple[tuple[T, int], ...]) -> T:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _days_ago(rng: random.Random) -> float:
    """How long ago one action was made: a launch peak that fades, a reminder mailing
    twelve days before now, and a steady trickle."""
    kind = rng.random()
    if kind < 0.55:
        ago = DAYS - rng.expovariate(1 / 3)
    elif kind < 0.8:
        ago = 12 - rng.expovariate(1 / 2)
    else:
        ago = rng.uniform(0, DAYS)
    return min(max(ago, 0.02), DAYS - 0.01)


async def seed_history(
    session: AsyncSession,
    keyring: Keyring,
    pages: list[tuple[ActionPage, str]],
    *,
    signatures: int = SIGNATURES,
    failing_org_id: int | None = None,
) -> History:
    """Record ``signatures`` signatures over ``pages`` ((page, locale)) and move them back
    over the last month. Only for an empty demo campaign (the caller checks)."""
    conn = await session.connection()
    rng = random.Random(SEED)
    options = IntakeOptions(keyring=keyring, window_seconds=0)
    history = History()
    signers: list[_Signer] = []
    channels = tuple(((s, m, c), w) for s, m, c, w in CHANNELS)
    weights = tuple((i, 3 if i == 0 else 2 if i == 1 else 1) for i in range(len(pages)))
    for n in range(signatures):
        if n == signatures - FAILING_AFTER and failing_org_id is not None:
            await _add_failing_crm(session, failing_org_id)
        page, locale = pages[_pick(rng, weights)]
        assert page.id is not None
        referrer = rng.choice(signers) if signers and rng.random() < 0.12 else None
        returning = bool(signers) and rng.random() < 0.04
        tracking: dict[str, str] = {}
        if referrer is not None and referrer.page.campaign_id == page.campaign_id:
            page = referrer.page  # a shared link leads to the sharer's page
            tracking = {"source": "share", "medium": _pick(rng, SHARE_MEDIA)}
            if referrer.receipt.referral_code:
                tracking["referralCode"] = referrer.receipt.referral_code
        else:
            referrer = None
            source, medium, utm = _pick(rng, channels)
            tracking = {k: v for k, v in (("source", source), ("medium", medium)) if v}
            if utm:
                tracking["campaign"] = utm
        number = rng.choice(signers).number if returning else n
        assert page.id is not None
        receipt = await add_action_contact(
            conn,
            options,
            page.id,
            action={"actionType": "signature"},
            contact={
                "firstName": FIRST_NAMES[number % len(FIRST_NAMES)],
                "lastName": f"Signer {number}",
                "email": f"signer-{number}@demo.example.net",
                "address": {"country": _pick(rng, COUNTRIES[locale])},
            },
            privacy={"optIn": rng.random() < 0.7, "leadOptIn": rng.random() < 0.5},
            tracking=tracking,
            meta=RequestMeta(flagged="honeypot" if rng.random() < 0.015 else None),
        )
        history.signatures += 1
        history.flagged += receipt.flagged is not None
        if receipt.action_id is not None:
            history.action_ids.append(receipt.action_id)
        if receipt.flagged is not None:
            continue
        signer = _Signer(number, receipt, page, referrer.generation + 1 if referrer else 0)
        signers.append(signer)
        if rng.random() < 0.18 and signer.generation < 3:
            shared = await add_action(
                conn,
                options,
                page.id,
                action={
                    "actionType": "share",
                    "customFields": {"medium": _pick(rng, SHARE_MEDIA)},
                },
                contact_ref=receipt.contact_ref,
            )
            history.shares += 1
            if shared.action_id is not None:
                history.action_ids.append(shared.action_id)
    await _backdate(conn, history.action_ids, rng)
    return history


async def _add_failing_crm(session: AsyncSession, org_id: int) -> None:
    """A webhook to a host that does not exist: the signatures after it fail to deliver
    (saved as it is: the outbound guard would refuse a name that does not resolve)."""
    session.add(
        Connector(
            org_id=org_id,
            kind=ConnectorKind.WEBHOOK.value,
            name="CRM (demo: unreachable)",
            config={"url": FAILING_CRM},
        )
    )
    await session.flush()


_BACKDATE_ACTIONS = text(
    "UPDATE action a SET created_at = v.at FROM unnest(CAST(:ids AS bigint[]), "
    "CAST(:ats AS timestamptz[])) AS v(id, at) WHERE a.id = v.id"
).bindparams(bindparam("ids"), bindparam("ats"))
_BACKDATE_PEOPLE = (
    "UPDATE supporter s SET created_at = f.at FROM (SELECT supporter_id, min(created_at) AS at "
    "FROM action WHERE id = ANY(CAST(:ids AS bigint[])) GROUP BY supporter_id) f "
    "WHERE s.id = f.supporter_id",
    "UPDATE contact c SET created_at = s.created_at FROM supporter s "
    "WHERE s.id = c.supporter_id AND s.id IN (SELECT supporter_id FROM action "
    "WHERE id = ANY(CAST(:ids AS bigint[])))",
)


async def _backdate(conn: AsyncConnection, action_ids: list[int], rng: random.Random) -> None:
    """Spread the actions, in the order they were made, over the last ``DAYS`` days."""
    if not action_ids:
        return
    now = utcnow()
    ats = sorted(now - timedelta(days=_days_ago(rng)) for _ in action_ids)
    await conn.execute(_BACKDATE_ACTIONS, {"ids": action_ids, "ats": ats})
    for statement in _BACKDATE_PEOPLE:
        await conn.execute(text(statement), {"ids": action_ids})
