"""Mail to target, the management side: targets, sending settings, pause, cancel, moderation.

The lead and coordinators manage a campaign's targets (policy ``can_manage_targets``: both
gates, the coalition role and the staff role or token). A campaign the subject's orgs take no
active part in raises ``NOT_FOUND``, exactly like a missing one; a partner gets
``PERMISSION_DENIED``. Nothing changes unless every input passes. Services never commit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.audit import repository as audit
from orgs.campaigns import consent
from orgs.crypto import Keyring
from orgs.errors import DomainError, Problem
from orgs.intake.validation import EXTERNAL_ID, MAX_BODY, MAX_SUBJECT
from orgs.models import (
    DeliveryStatus,
    MailToTarget,
    MailToTargetMode,
    Moderation,
    PartnershipStatus,
    Target,
    TargetEmail,
    TargetEmailStatus,
    TargetHold,
    TargetSelection,
    utcnow,
)
from orgs.scoping import Membership, Scope, system_scope
from orgs.targets import drip, repository
from orgs.targets.intake import WINDOW_ENDED
from orgs.targets.repository import MessageCounts
from orgs.text import problem as text_problem
from permissions import policies
from permissions.policies import Denied
from permissions.roles import Permission

MAX_TARGETS_PER_UPSERT = 5000
MAX_EMAILS_PER_TARGET = 20
MAX_POSTCODES_PER_TARGET = 500
MAX_BLOCKED_WORDS = 500
MAX_FIELDS_BYTES = 4096
CANCELLED_BY_CAMPAIGN = "cancelled by the campaign"
PRIVATE_FIELD = re.compile(r"e-?mail", re.IGNORECASE)


class TargetErrorCode(StrEnum):
    """Codes of the mail-to-target operations (exposed as ``TargetErrorCode``)."""

    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    INVALID = "INVALID"


class TargetError(DomainError):
    """A user-fixable outcome of a mail-to-target operation; nothing was changed."""


class Missing(StrEnum):
    """What becomes of a campaign's targets an upsert does not list."""

    KEEP = "keep"
    REPLACE = "replace"  # deleted (disabled when messages refer to them: counts survive)
    DISABLE = "disable"  # disabled; their queued messages are cancelled


@dataclass(frozen=True)
class EmailInput:
    email: str
    status: TargetEmailStatus | None = None  # None: keep the current (new: active)


@dataclass(frozen=True)
class TargetInput:
    external_id: str
    name: str
    area: str | None = None
    locale: str | None = None
    fields: Any = None  # a JSON object
    postcodes: list[str] | None = None
    emails: list[EmailInput] | None = None  # None: keep the target's addresses
    active: bool | None = None  # None: listed targets are active


@dataclass(frozen=True)
class WindowInput:
    starts_on: date | None = None
    ends_on: date | None = None
    daily_start: str = "00:00"
    daily_end: str = "24:00"
    timezone: str = "UTC"
    hourly_cap: int = drip.DEFAULT_HOURLY_CAP


@dataclass(frozen=True)
class TemplateInput:
    locale: str
    subject: str
    body: str


@dataclass(frozen=True)
class TargetView:
    """A target as its managers see it: addresses and message counts included."""

    target: Target
    emails: list[TargetEmail]
    counts: MessageCounts = field(default_factory=MessageCounts)


@dataclass(frozen=True)
class MessageView:
    id: int
    target: str
    target_name: str
    status: str
    hold: str | None
    subject: str | None  # None once forgotten (erasure, rejection)
    body: str | None
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


async def _manager(session: AsyncSession, scope: Scope, campaign: str | int) -> Membership:
    membership = await scope.campaign_membership(
        session, campaign, Permission.MANAGE_CAMPAIGNS, statuses=(PartnershipStatus.ACTIVE.value,)
    )
    if membership is None:
        raise TargetError("campaign", TargetErrorCode.NOT_FOUND, "campaign not found")
    decision = policies.can_manage_targets(scope.subject, membership.org_id, membership.role)
    if isinstance(decision, Denied):
        raise TargetError("campaign", TargetErrorCode.PERMISSION_DENIED, decision.reason)
    return membership


def _campaign_id(membership: Membership) -> int:
    assert membership.campaign.id is not None
    return membership.campaign.id


async def _settings(session: AsyncSession, campaign_id: int) -> MailToTarget:
    found = await repository.settings_of(session, campaign_id)
    if found is None:
        found = MailToTarget(campaign_id=campaign_id)
        session.add(found)
        await session.flush()
    return found


# --- targets -------------------------------------------------------------------------------


def _email(value: str) -> str | None:
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return None
    return str(checked.normalized).lower()


def _postcode(value: str) -> str:
    return "".join(value.split()).upper()


def _check_target(i: int, item: TargetInput, problems: list[Problem]) -> TargetInput:
    at = ("input", "targets", str(i))

    def bad(name: str, message: str) -> None:
        problems.append(Problem((*at, name), TargetErrorCode.INVALID, message))

    if not EXTERNAL_ID.fullmatch(item.external_id):
        bad("externalId", "letters, digits and _.:@/- (at most 100), no spaces")
    # one line each: a name becomes a display name in the To header (the CLI's import does
    # not pass the GraphQL text gate, so the rule is here)
    name = item.name.strip()
    if not name or len(name) > 200 or text_problem(name) is not None:
        bad("name", "a name of one line and at most 200 characters")
    area = (item.area or "").strip() or None
    if area is not None and (len(area) > 100 or text_problem(area) is not None):
        bad("area", "one line of at most 100 characters")
    if item.locale is not None and not consent.LOCALE.match(item.locale):
        bad("locale", "a locale like fr or fr_BE")
    if item.fields is not None:
        if not isinstance(item.fields, dict):
            bad("fields", "a JSON object")
        elif len(repository.dumps(item.fields)) > MAX_FIELDS_BYTES:
            bad("fields", f"at most {MAX_FIELDS_BYTES} bytes")
        elif any(PRIVATE_FIELD.search(str(key)) for key in item.fields):
            # fields are public (campaign.targets): an address there would be published
            bad("fields", "fields are public: addresses go in emails, never in fields")
    postcodes: list[str] | None = None
    if item.postcodes is not None:
        postcodes = list(dict.fromkeys(_postcode(p) for p in item.postcodes if p.strip()))
        if len(postcodes) > MAX_POSTCODES_PER_TARGET or any(
            len(p) > 16 or not p.replace("-", "").isalnum() for p in postcodes
        ):
            bad("postcodes", f"at most {MAX_POSTCODES_PER_TARGET} prefixes of letters and digits")
    emails: list[EmailInput] | None = None
    if item.emails is not None:
        emails = []
        if len(item.emails) > MAX_EMAILS_PER_TARGET:
            bad("emails", f"at most {MAX_EMAILS_PER_TARGET} addresses")
        for j, given in enumerate(item.emails[:MAX_EMAILS_PER_TARGET]):
            normalised = _email(given.email)
            if normalised is None:
                problems.append(
                    Problem(
                        (*at, "emails", str(j), "email"),
                        TargetErrorCode.INVALID,
                        "is not a valid email address",
                    )
                )
            elif normalised not in [e.email for e in emails]:
                emails.append(EmailInput(normalised, given.status))
    return TargetInput(
        external_id=item.external_id,
        name=name,
        area=area,
        locale=item.locale,
        fields=item.fields,
        postcodes=postcodes,
        emails=emails,
        active=item.active,
    )


async def upsert_targets(
    session: AsyncSession,
    scope: Scope,
    campaign: str | int,
    targets: Sequence[TargetInput],
    missing: Missing = Missing.KEEP,
) -> list[TargetView]:
    """Create or update targets by external id; those not listed are kept, replaced
    (deleted, or disabled when messages refer to them) or disabled. Every target's addresses
    are replaced by the listed ones (an address listed again keeps its status and bounces,
    unless a status is given). Their queued messages are cancelled when a target is
    disabled. Answers every target of the campaign."""
    membership = await _manager(session, scope, campaign)
    campaign_id = _campaign_id(membership)
    problems: list[Problem] = []
    if len(targets) > MAX_TARGETS_PER_UPSERT:
        problems.append(
            Problem(
                ("input", "targets"),
                TargetErrorCode.INVALID,
                f"at most {MAX_TARGETS_PER_UPSERT} targets at once",
            )
        )
    checked = [_check_target(i, t, problems) for i, t in enumerate(targets)]
    seen: set[str] = set()
    for i, item in enumerate(checked):
        if item.external_id in seen:
            problems.append(
                Problem(
                    ("input", "targets", str(i), "externalId"),
                    TargetErrorCode.INVALID,
                    "listed twice",
                )
            )
        seen.add(item.external_id)
    if problems:
        raise TargetError.of(problems)
    existing = {t.external_id: t for t in await repository.targets_of(session, campaign_id)}
    now = utcnow()
    listed: dict[str, Target] = {}
    for item in checked:
        row = existing.get(item.external_id)
        if row is None:
            row = Target(campaign_id=campaign_id, external_id=item.external_id, name=item.name)
            session.add(row)
        row.name = item.name
        row.area = item.area
        row.locale = item.locale
        if item.fields is not None:
            row.fields = dict(item.fields)
        if item.postcodes is not None:
            row.postcodes = item.postcodes
        row.active = item.active is not False
        row.updated_at = now
        listed[item.external_id] = row
    await session.flush()
    current = await repository.emails_of(session, [t.id for t in listed.values() if t.id])
    removed: list[TargetEmail] = []
    for item in checked:
        if item.emails is None:
            continue
        row = listed[item.external_id]
        assert row.id is not None
        have = {e.email.lower(): e for e in current.get(row.id, [])}
        for given in item.emails:
            email = have.pop(given.email, None)
            if email is None:
                email = TargetEmail(target_id=row.id, email=given.email)
                session.add(email)
            if given.status is not None and given.status.value != email.status:
                email.status = given.status.value
                email.soft_bounces = 0
                email.updated_at = now
        removed += list(have.values())
    for email in removed:
        await session.delete(email)
    unlisted = [t for key, t in existing.items() if key not in listed and t.id is not None]
    disabled = [t.id for t in listed.values() if not t.active and t.id is not None]
    deleted: list[Target] = []
    if missing is not Missing.KEEP and unlisted:
        ids = [t.id for t in unlisted if t.id is not None]
        referred = (
            await repository.targets_with_messages(session, ids)
            if missing is Missing.REPLACE
            else set(ids)
        )
        for target in unlisted:
            assert target.id is not None
            if target.id in referred:
                target.active = False
                target.updated_at = now
                disabled.append(target.id)
            else:
                deleted.append(target)
    for target in deleted:
        await session.delete(target)
    await session.flush()
    conn = await session.connection()
    await repository.cancel_for_targets(conn, disabled, CANCELLED_BY_CAMPAIGN)
    await audit.record(
        session,
        scope,
        membership.org_id,
        "targets.upsert",
        "Campaign",
        campaign_id,
        {
            "listed": len(checked),
            "missing": missing.value,
            "disabled": len(disabled),
            "deleted": len(deleted),
        },
    )
    return await _views(session, campaign_id)


async def import_targets(
    session: AsyncSession,
    org_id: int,
    campaign: str | int,
    targets: Sequence[TargetInput],
    missing: Missing = Missing.KEEP,
) -> list[TargetView]:
    """The operator's import (``coalition-hub targets import``), acting as ``org_id``: the same
    rules as :func:`upsert_targets`, so the org must lead or coordinate the campaign."""
    return await upsert_targets(session, system_scope(org_id), campaign, targets, missing)


async def _views(session: AsyncSession, campaign_id: int) -> list[TargetView]:
    rows = await repository.targets_of(session, campaign_id)
    emails = await repository.emails_of(session, [t.id for t in rows if t.id is not None])
    counts = await repository.message_counts(await session.connection(), campaign_id)
    return [
        TargetView(t, emails.get(t.id or 0, []), counts.get(t.id or 0, MessageCounts()))
        for t in rows
    ]


async def campaign_targets(
    session: AsyncSession, scope: Scope, campaign: str | int
) -> list[TargetView]:
    """Every target of the campaign with its addresses and message counts (managers)."""
    membership = await _manager(session, scope, campaign)
    return await _views(session, _campaign_id(membership))


@dataclass(frozen=True)
class AreaView:
    """The messages to the targets of one area (aggregates: no address, no text)."""

    area: str | None
    targets: int  # the area's targets, active or not
    active: int  # of which active
    counts: MessageCounts


async def campaign_target_areas(
    session: AsyncSession, scope: Scope, campaign: str | int
) -> list[AreaView]:
    """The campaign's messages per target area, by state (managers; areas as the targets
    spell them, no area last)."""
    membership = await _manager(session, scope, campaign)
    campaign_id = _campaign_id(membership)
    rows = await repository.targets_of(session, campaign_id)
    counts = await repository.message_counts(await session.connection(), campaign_id)
    areas: dict[str | None, tuple[list[Target], MessageCounts]] = {}
    for target in rows:
        members, total = areas.setdefault(target.area, ([], MessageCounts()))
        members.append(target)
        total.add(counts.get(target.id or 0, MessageCounts()))
    return [
        AreaView(area, len(members), sum(1 for t in members if t.active), total)
        for area, (members, total) in sorted(
            areas.items(), key=lambda item: (item[0] is None, item[0] or "")
        )
    ]


# --- settings --------------------------------------------------------------------------------


def _window_problems(window: WindowInput) -> tuple[list[Problem], int, int]:
    problems: list[Problem] = []
    at = ("input", "window")

    def bad(name: str, message: str) -> None:
        problems.append(Problem((*at, name), TargetErrorCode.INVALID, message))

    start = drip.parse_clock(window.daily_start)
    end = drip.parse_clock(window.daily_end)
    if start is None or start >= drip.MINUTES_PER_DAY:
        bad("dailyStart", "a time like 09:00")
    if end is None or end == 0:
        bad("dailyEnd", "a time like 17:30 (24:00: midnight)")
    if start is not None and end is not None and end <= start:
        bad("dailyEnd", "the daily end must come after the daily start")
    if drip.zone(window.timezone) is None:
        bad("timezone", "an IANA time zone like Europe/Brussels")
    if not 1 <= window.hourly_cap <= drip.MAX_HOURLY_CAP:
        bad("hourlyCap", f"between 1 and {drip.MAX_HOURLY_CAP} messages per target and hour")
    if window.starts_on and window.ends_on and window.ends_on < window.starts_on:
        bad("endsOn", "the last day must not come before the first")
    return problems, start or 0, end or drip.MINUTES_PER_DAY


async def update_settings(
    session: AsyncSession,
    scope: Scope,
    campaign: str | int,
    *,
    mode: MailToTargetMode | None = None,
    editable: bool | None = None,
    ask_reply_to: bool | None = None,
    selection: TargetSelection | None = None,
    moderation: Moderation | None = None,
    blocked_words: list[str] | None = None,
    templates: list[TemplateInput] | None = None,
    window: WindowInput | None = None,
) -> MailToTarget:
    """Change what is given (``window`` and ``templates`` are replaced whole). Messages
    already planned keep their slots; the workers hold them to the new window and cap."""
    membership = await _manager(session, scope, campaign)
    problems: list[Problem] = []
    start = end = 0
    if window is not None:
        found, start, end = _window_problems(window)
        problems += found
    words: list[str] | None = None
    if blocked_words is not None:
        words = list(dict.fromkeys(w.strip() for w in blocked_words if w.strip()))
        if len(words) > MAX_BLOCKED_WORDS or any(len(w) > 100 for w in words):
            problems.append(
                Problem(
                    ("input", "blockedWords"),
                    TargetErrorCode.INVALID,
                    f"at most {MAX_BLOCKED_WORDS} words of at most 100 characters",
                )
            )
    texts: dict[str, dict[str, str]] | None = None
    if templates is not None:
        texts = {}
        for i, item in enumerate(templates):
            at = ("input", "templates", str(i))
            if not consent.LOCALE.match(item.locale):
                problems.append(
                    Problem((*at, "locale"), TargetErrorCode.INVALID, "a locale like fr")
                )
            subject, body = item.subject.strip(), item.body.strip()
            if not subject or len(subject) > MAX_SUBJECT:
                problems.append(
                    Problem(
                        (*at, "subject"),
                        TargetErrorCode.INVALID,
                        f"a subject of at most {MAX_SUBJECT} characters",
                    )
                )
            if not body or len(body) > MAX_BODY:
                problems.append(
                    Problem(
                        (*at, "body"),
                        TargetErrorCode.INVALID,
                        f"a message of at most {MAX_BODY} characters",
                    )
                )
            texts[item.locale] = {"subject": subject, "body": body.replace("\r\n", "\n")}
    if problems:
        raise TargetError.of(problems)
    settings = await _settings(session, _campaign_id(membership))
    changed: list[str] = []
    for name, value in (
        ("mode", mode.value if mode else None),
        ("editable", editable),
        ("ask_reply_to", ask_reply_to),
        ("selection", selection.value if selection else None),
        ("moderation", moderation.value if moderation else None),
        ("blocked_words", words),
        ("templates", texts),
    ):
        if value is not None:
            setattr(settings, name, value)
            changed.append(name)
    if window is not None:
        settings.starts_on = window.starts_on
        settings.ends_on = window.ends_on
        settings.daily_start = start
        settings.daily_end = end
        settings.timezone = window.timezone
        settings.hourly_cap = window.hourly_cap
        changed.append("window")
    settings.updated_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        scope,
        membership.org_id,
        "targets.settings",
        "Campaign",
        settings.campaign_id,
        {"changed": changed},
    )
    return settings


async def current_settings(
    session: AsyncSession, scope: Scope, campaign: str | int
) -> MailToTarget:
    """The campaign's settings (the defaults until someone changes them)."""
    membership = await _manager(session, scope, campaign)
    found = await repository.settings_of(session, _campaign_id(membership))
    return found or MailToTarget(campaign_id=_campaign_id(membership))


def window_of(row: MailToTarget) -> drip.Window:
    return drip.Window(
        timezone=row.timezone,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        daily_start=row.daily_start,
        daily_end=row.daily_end,
        hourly_cap=row.hourly_cap,
    )


async def _release(
    session: AsyncSession,
    row: MailToTarget,
    held: list[repository.HeldMessage],
    clock: Callable[[], datetime],
) -> None:
    """Held messages take their targets' next drip slots, in the order they were written."""
    if not held:
        return
    conn = await session.connection()
    cursors = await repository.lock_cursors(conn, [h.target_id for h in held])
    window = window_of(row)
    now = clock()
    schedule: list[tuple[int, datetime | None, str, str | None]] = []
    for message in held:
        slot = window.slot_after(cursors.get(message.target_id), now)
        if slot is None:
            schedule.append((message.delivery_id, None, DeliveryStatus.FAILED.value, WINDOW_ENDED))
            continue
        status = DeliveryStatus.WAITING if message.unconfirmed else DeliveryStatus.PENDING
        schedule.append((message.delivery_id, slot, status.value, None))
        cursors[message.target_id] = slot
    moved = {k: v for k, v in cursors.items() if k in {h.target_id for h in held}}
    await repository.release_held(conn, schedule, moved)


async def pause(session: AsyncSession, scope: Scope, campaign: str | int) -> MailToTarget:
    """Nothing more is sent to the campaign's targets until it resumes (already paused: no
    change). Messages written meanwhile wait too."""
    membership = await _manager(session, scope, campaign)
    row = await _settings(session, _campaign_id(membership))
    if not row.paused:
        row.paused = True
        row.updated_at = utcnow()
        await session.flush()
        await repository.hold_for_pause(await session.connection(), row.campaign_id)
        await audit.record(
            session, scope, membership.org_id, "targets.pause", "Campaign", row.campaign_id, {}
        )
    return row


async def resume(
    session: AsyncSession, scope: Scope, campaign: str | int, clock: Callable[[], datetime] = utcnow
) -> MailToTarget:
    """Sending resumes: the held messages are spread over the window again from now."""
    membership = await _manager(session, scope, campaign)
    row = await _settings(session, _campaign_id(membership))
    if row.paused:
        row.paused = False
        row.updated_at = utcnow()
        await session.flush()
        conn = await session.connection()
        held = await repository.held_messages(conn, row.campaign_id, TargetHold.PAUSED.value)
        await _release(session, row, held, clock)
        await audit.record(
            session, scope, membership.org_id, "targets.resume", "Campaign", row.campaign_id, {}
        )
    return row


async def cancel_messages(
    session: AsyncSession, scope: Scope, campaign: str | int, target: str
) -> int:
    """Cancel every message of one target that is not sent yet; the number cancelled."""
    membership = await _manager(session, scope, campaign)
    campaign_id = _campaign_id(membership)
    row = await repository.target_by_external_id(session, campaign_id, target)
    if row is None or row.id is None:
        raise TargetError("target", TargetErrorCode.NOT_FOUND, "target not found")
    conn = await session.connection()
    cancelled = await repository.cancel_for_targets(conn, [row.id], CANCELLED_BY_CAMPAIGN)
    await audit.record(
        session,
        scope,
        membership.org_id,
        "targets.cancel",
        "Campaign",
        campaign_id,
        {"target": target, "cancelled": cancelled},
    )
    return cancelled


async def moderate(
    session: AsyncSession,
    scope: Scope,
    campaign: str | int,
    ids: list[int],
    approve: bool,
    clock: Callable[[], datetime] = utcnow,
) -> int:
    """Approve held messages (they take drip slots, or wait while the campaign is paused) or
    reject them (cancelled, their texts forgotten); the number decided."""
    membership = await _manager(session, scope, campaign)
    campaign_id = _campaign_id(membership)
    if len(ids) > 1000:
        raise TargetError("ids", TargetErrorCode.INVALID, "at most 1000 messages at once")
    conn = await session.connection()
    if not approve:
        count = await repository.reject_held(conn, campaign_id, ids)
    else:
        held = await repository.held_messages(
            conn, campaign_id, TargetHold.MODERATION.value, sorted(set(ids))
        )
        row = await _settings(session, campaign_id)
        if row.paused:
            paused = [(h.delivery_id, None, DeliveryStatus.HELD.value, None) for h in held]
            await repository.release_held(conn, paused, {}, TargetHold.PAUSED.value)
        else:
            await _release(session, row, held, clock)
        count = len(held)
    await audit.record(
        session,
        scope,
        membership.org_id,
        "targets.moderate",
        "Campaign",
        campaign_id,
        {"approved" if approve else "rejected": count},
    )
    return count


async def messages(
    session: AsyncSession,
    scope: Scope,
    keyring: Keyring,
    campaign: str | int,
    *,
    status: DeliveryStatus | None = None,
    target: str | None = None,
    after: int | None = None,
    first: int = 50,
) -> list[MessageView]:
    """The campaign's messages to targets, newest first, with their texts (the moderation
    queue is ``status: held``). Reading the texts is audited."""
    membership = await _manager(session, scope, campaign)
    campaign_id = _campaign_id(membership)
    rows = await repository.messages(
        await session.connection(),
        campaign_id,
        status=status.value if status else None,
        target=target,
        after=after,
        first=max(1, min(first, 200)),
    )
    out = []
    for r in rows:
        text = keyring.decrypt_json(r.payload) if r.payload else {}
        out.append(
            MessageView(
                id=r.id,
                target=r.target_external_id,
                target_name=r.target_name,
                status=r.status,
                hold=r.hold,
                subject=text.get("subject"),
                body=text.get("body"),
                created_at=r.created_at,
                sent_at=r.sent_at,
                last_error=r.last_error,
            )
        )
    await audit.record(
        session,
        scope,
        membership.org_id,
        "targets.read_messages",
        "Campaign",
        campaign_id,
        {"count": len(out)},
    )
    return out
