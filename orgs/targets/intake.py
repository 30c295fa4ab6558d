"""The mail-to-target part of a signature or follow-up (``ActionInput.mtt``).

:func:`prepare` runs before anything is written: the named targets must be active targets
of the page's campaign with an address that gets mail (a signer names targets by external
id only, never by address), and subject and body come from the signer (when the campaign lets
them edit) or the campaign's template in the page's language. :func:`plan` runs after the
action is written, in the same transaction: one outbox row (event ``target_mail``) and one
message row per target not written to by this supporter before, each due at its target's
next drip slot (orgs/targets/drip.py), or held for moderation or while the campaign is paused.

Mailto mode writes clicks instead (counted, never sent by the hub) and answers the link; a
test (``testing: true``) writes one copy for the signer's own address, due at once.

On a campaign that assigns targets by postcode, :func:`check_postcode` holds every chosen
target to the signer's postcode (the one they give, or on a follow-up the one the page's org
holds for them): one of the target's prefixes must start it, as in the public lookup.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from orgs.crypto import Keyring
from orgs.intake.validation import (
    ActionData,
    Code,
    FieldError,
    IntakeValidationError,
)
from orgs.models import (
    DeliveryStatus,
    MailToTargetMode,
    Moderation,
    TargetHold,
    TargetMessageKind,
    TargetSelection,
)
from orgs.targets import render, repository
from orgs.targets.drip import Window
from orgs.targets.repository import IntakeSettings, IntakeTarget, NewMessage

WINDOW_ENDED = "after the end of the sending window"
MAILTO = "mailto"


@dataclass(frozen=True)
class Prepared:
    """A validated message to targets, ready to be planned once the action is written."""

    kind: TargetMessageKind
    settings: IntakeSettings
    targets: tuple[IntakeTarget, ...]
    text: render.Text
    reply_to: bool  # the signer agreed that targets may answer them (campaign asked)
    hold: TargetHold | None


def _blocked(settings: IntakeSettings, text: render.Text) -> bool:
    words = [w for w in settings.blocked_words if w.strip()]
    if not words:
        return False
    pattern = re.compile(
        r"(?<!\w)(?:" + "|".join(re.escape(w.strip()) for w in words) + r")(?!\w)",
        re.IGNORECASE,
    )
    return bool(pattern.search(text.subject) or pattern.search(text.body))


async def prepare(
    conn: AsyncConnection, page_id: int, campaign_id: int, action: ActionData
) -> Prepared | None:
    """Check ``action.mtt`` against the campaign (IntakeValidationError: nothing written)."""
    mtt = action.mtt
    if mtt is None:
        return None
    settings = await repository.intake_settings(conn, page_id)
    found = await repository.intake_targets(conn, campaign_id, mtt.targets)
    errors: list[FieldError] = []
    targets: list[IntakeTarget] = []
    for i, external_id in enumerate(mtt.targets):
        target = found.get(external_id)
        if target is None or not target.mailable:
            errors.append(
                FieldError(
                    ("action", "mtt", "targets", str(i)),
                    Code.UNKNOWN_TARGET,
                    "is not a target of this campaign",
                )
            )
        else:
            targets.append(target)
    own = render.template(settings.templates, settings.locale)
    subject = mtt.subject if settings.editable and mtt.subject else None
    body = mtt.body if settings.editable and mtt.body else None
    subject = subject or (own.subject if own else None)
    body = body or (own.body if own else None)
    if not subject:
        errors.append(FieldError(("action", "mtt", "subject"), Code.REQUIRED, "a subject"))
    if not body:
        errors.append(FieldError(("action", "mtt", "body"), Code.REQUIRED, "a message"))
    if errors:
        raise IntakeValidationError(errors)
    assert subject is not None
    assert body is not None
    text = render.Text(subject, body)
    mailto = settings.mode == MailToTargetMode.MAILTO.value or (
        settings.mode == MailToTargetMode.BOTH.value
        and action.custom_fields.get("medium") == MAILTO
    )
    if action.testing and not mailto:
        kind = TargetMessageKind.TEST
    else:
        kind = TargetMessageKind.CLICK if mailto else TargetMessageKind.SEND
    hold = None
    if kind is TargetMessageKind.SEND:
        if settings.moderation == Moderation.ALL.value or (
            settings.moderation == Moderation.WORDS.value and _blocked(settings, text)
        ):
            hold = TargetHold.MODERATION
        elif settings.paused:
            hold = TargetHold.PAUSED
    # the signer's address goes to targets only where the campaign asked and they agreed
    reply_to = settings.ask_reply_to and action.custom_fields.get("replyTo") is True
    return Prepared(kind, settings, tuple(targets), text, reply_to, hold)


MAX_POSTCODE_KEY = 16  # as the public lookup reads a postcode (resolvers/targets.py)
NOT_FOR_POSTCODE = "does not answer for this postcode"


def postcode_key(postcode: str | None) -> str | None:
    """A postcode as targets' prefixes are matched against it: no spaces, upper case."""
    value = "".join((postcode or "").split()).upper()[:MAX_POSTCODE_KEY]
    return value or None


def by_postcode(prepared: Prepared | None) -> bool:
    return prepared is not None and prepared.settings.selection == TargetSelection.POSTCODE.value


def check_postcode(
    prepared: Prepared | None,
    postcode: str | None,
    missing: tuple[str, ...] | None = ("contact", "address", "postcode"),
) -> None:
    """On a postcode campaign, refuse (nothing written) targets that do not answer for the
    signer's ``postcode``: each with the path of its item. Without a postcode: an error at
    ``missing`` (the signature's postcode field), or when ``None`` (a follow-up, whose
    signer gave none when signing) every target is refused."""
    if prepared is None or not by_postcode(prepared):
        return
    key = postcode_key(postcode)
    if key is None and missing is not None:
        raise IntakeValidationError(
            [FieldError(missing, Code.REQUIRED, "the campaign picks the targets by postcode")]
        )
    errors = [
        FieldError(("action", "mtt", "targets", str(i)), Code.UNKNOWN_TARGET, NOT_FOR_POSTCODE)
        for i, target in enumerate(prepared.targets)
        if key is None or not any(key.startswith(prefix) for prefix in target.postcodes)
    ]
    if errors:
        raise IntakeValidationError(errors)


def window_of(settings: IntakeSettings) -> Window:
    return Window(
        timezone=settings.timezone,
        starts_on=settings.starts_on,
        ends_on=settings.ends_on,
        daily_start=settings.daily_start,
        daily_end=settings.daily_end,
        hourly_cap=settings.hourly_cap,
    )


async def plan(
    conn: AsyncConnection,
    keyring: Keyring,
    prepared: Prepared,
    *,
    org_id: int,
    campaign_id: int,
    supporter_id: int,
    action_id: int,
    testing: bool,
    waiting: bool,
    clock: Callable[[], datetime],
) -> None:
    """Write the messages (or mailto clicks) of a written action.

    Dedupe: one message (and one click) per supporter and target, whatever the actions.
    """
    ids = [t.id for t in prepared.targets]
    if prepared.kind is TargetMessageKind.CLICK:
        if not testing:
            await repository.write_clicks(
                conn,
                org_id=org_id,
                campaign_id=campaign_id,
                supporter_id=supporter_id,
                action_id=action_id,
                target_ids=ids,
            )
        return
    if prepared.kind is TargetMessageKind.TEST:
        names = [t.name for t in prepared.targets]
        payload = keyring.encrypt_json(
            {"subject": prepared.text.subject, "body": prepared.text.body, "targets": names}
        )
        first = prepared.targets[0]
        await repository.write_messages(
            conn,
            org_id=org_id,
            campaign_id=campaign_id,
            supporter_id=supporter_id,
            action_id=action_id,
            kind=TargetMessageKind.TEST.value,
            testing=True,
            payload=payload,
            messages=[
                NewMessage(first.id, DeliveryStatus.PENDING.value, None, None, None, _token())
            ],
            created_at=clock(),
        )
        return
    done = await repository.already_written(conn, supporter_id, TargetMessageKind.SEND.value, ids)
    fresh = [t for t in prepared.targets if t.id not in done]
    if not fresh:
        return
    payload = keyring.encrypt_json(
        {
            "subject": prepared.text.subject,
            "body": prepared.text.body,
            "replyTo": prepared.reply_to,
        }
    )
    messages: list[NewMessage] = []
    if prepared.hold is not None:
        held = DeliveryStatus.HELD.value
        messages = [
            NewMessage(t.id, held, None, prepared.hold.value, None, _token()) for t in fresh
        ]
    else:
        # the cursors are locked until commit: concurrent signatures take successive slots
        cursors = await repository.lock_cursors(conn, [t.id for t in fresh])
        window = window_of(prepared.settings)
        now = clock()
        status = (DeliveryStatus.WAITING if waiting else DeliveryStatus.PENDING).value
        for target in fresh:
            slot = window.slot_after(cursors.get(target.id), now)
            if slot is None:
                failed = DeliveryStatus.FAILED.value
                messages.append(NewMessage(target.id, failed, None, None, WINDOW_ENDED, _token()))
            else:
                messages.append(NewMessage(target.id, status, slot, None, None, _token()))
    await repository.write_messages(
        conn,
        org_id=org_id,
        campaign_id=campaign_id,
        supporter_id=supporter_id,
        action_id=action_id,
        kind=TargetMessageKind.SEND.value,
        testing=testing,
        payload=payload,
        messages=messages,
        created_at=clock(),
    )


def _token() -> str:
    """The stable part of a message's Message-ID (the same on every attempt)."""
    return secrets.token_hex(16)
