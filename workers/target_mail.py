"""Sending one message to a target (a ``target_mail`` delivery), inside the pipeline's attempt.

Guarantees, checked again at send time whatever the planned slot said:

* nothing leaves outside the campaign's sending window (:class:`NotYet` until it opens);
* a target gets at most its hourly cap in any hour, and no burst after an outage: one
  worker at a time sends to a target (an advisory lock), and a message that would come too
  soon after the previous one takes the target's next free drip slot instead;
* a paused campaign's message is held; a removed or disabled target's fails;
* the mail is the hub's (envelope and From address: SPF/DMARC-safe) with the signer's name as
  display name, the signer as Reply-To only when they agreed, a Message-ID stable across
  attempts (receivers dedupe on it), plain text only;
* an address the server refuses with 5xx is marked bounced at once; 4xx counts a soft
  bounce (bounced after :data:`SOFT_BOUNCE_LIMIT` in a row) and the message is retried.

A test copy (``testing: true``) goes at once to the signer's own address, subject prefixed
``[TEST]``, never to a target.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from urllib.parse import urlsplit

import structlog
from sqlalchemy import Connection

from orgs.delivery import payload as payloads
from orgs.i18n import catalog
from orgs.models import TargetHold, TargetMessageKind
from orgs.outbox.repository import DeliveryJob
from orgs.scoping import system_scope
from orgs.targets import render
from orgs.targets import repository as targets
from orgs.targets.drip import Window
from orgs.targets.intake import WINDOW_ENDED
from workers.connectors.base import Held, NotYet, PermanentFailure, RetryableFailure
from workers.mail import _POLICY, Mailer

log = structlog.get_logger(__name__)

SOFT_BOUNCE_LIMIT = 5
LOCKED_RETRY_SECONDS = 2.0
HOUR = timedelta(hours=1)


def _signer(contact: dict[str, object]) -> str:
    names = (contact.get("firstName"), contact.get("lastName"))
    return render.line(" ".join(str(n) for n in names if n), 200)


def _recipient(message: targets.OutgoingMessage) -> render.Recipient:
    return render.Recipient(
        name=render.line(message.target_name, 200),
        external_id=message.target_external_id,
        area=message.target_area,
        locale=message.target_locale,
        fields=message.target_fields,
    )


def send(mailer: Mailer, conn: Connection, job: DeliveryJob, now: datetime) -> None:
    """Send the message of ``job`` (see the module docstring for the guarantees)."""
    message = targets.outgoing(conn, job.id, job.org_id)
    if message is None:
        raise PermanentFailure("this message no longer exists")
    if message.payload is None:
        raise PermanentFailure("this message was withdrawn")
    try:
        found = payloads.facts(conn, system_scope(job.org_id), mailer.keyring, job)
    except payloads.NothingToDeliver:
        raise PermanentFailure("the sender of this message no longer exists") from None
    text = mailer.keyring.decrypt_json(message.payload)
    signer = _signer(found.contact)
    if message.kind == TargetMessageKind.TEST.value:
        _send_test(mailer, conn, job, message, text, signer, found.contact.get("email"), now)
        return
    if message.paused:
        raise Held(TargetHold.PAUSED.value)
    if not message.target_active:
        raise PermanentFailure("the target was disabled")
    if not message.emails:
        raise PermanentFailure("the target has no address that gets mail")
    window = Window(**message.window)
    opens = window.next_open(now)
    if opens is None:
        raise PermanentFailure(WINDOW_ENDED)
    if opens > now:
        raise NotYet(opens, "outside the sending window")
    if not targets.try_lock_target(conn, message.target_id):
        raise NotYet(now + timedelta(seconds=LOCKED_RETRY_SECONDS), "another worker sends")
    recent = targets.sent_since(conn, message.target_id, now - HOUR, now)
    if recent.count >= window.hourly_cap and recent.oldest is not None:
        raise NotYet(_next_slot(conn, window, message, now, recent.oldest + HOUR), "hourly cap")
    if recent.latest is not None and now - recent.latest < window.spacing / 2:
        later = recent.latest + window.spacing
        raise NotYet(_next_slot(conn, window, message, now, later), "too soon after the last")
    mail = _compose(mailer, message, text, signer, found.contact.get("email"))
    refused = mailer.server(conn, job.org_id).send_reporting(mail)
    _record(conn, message, refused)
    targets.mark_sent(conn, message.id, now)


def _next_slot(
    conn: Connection,
    window: Window,
    message: targets.OutgoingMessage,
    now: datetime,
    not_before: datetime,
) -> datetime:
    """The target's next free drip slot (its cursor moves there), for a message that came due
    too soon after others: the backlog of an outage is spread, not sent in a burst."""
    slot = targets.take_slot(conn, message.target_id, window, now, not_before)
    if slot is None:
        raise PermanentFailure(WINDOW_ENDED)
    return slot


def _record(
    conn: Connection, message: targets.OutgoingMessage, refused: dict[str, tuple[int, str]]
) -> None:
    """Bounces: 5xx marks an address bounced at once, 4xx counts a soft bounce."""
    by_address = {address.lower(): email_id for email_id, address in message.emails}
    temporary = False
    for address, (code, reply) in refused.items():
        email_id = by_address.get(address.lower())
        if email_id is None:
            continue
        hard = 500 <= code < 600
        temporary = temporary or not hard
        targets.record_bounce(
            conn, email_id, hard=hard, error=f"{code} {reply}", soft_limit=SOFT_BOUNCE_LIMIT
        )
    accepted = [i for i, a in message.emails if a not in refused and a.lower() not in refused]
    targets.clear_soft_bounces(conn, accepted)
    if refused and len(refused) >= len(message.emails):
        if temporary:
            raise RetryableFailure("the mail server deferred every address of the target")
        raise PermanentFailure("every address of the target bounced")
    if refused:
        log.info("target_mail.partly_refused", message=message.id, refused=len(refused))


def _from(mailer: Mailer, display: str) -> str:
    _, address = parseaddr(mailer.mail_from)
    return formataddr((display, address))


def _message_id(mailer: Mailer, token: str | None, message_id: int) -> str:
    host = urlsplit(mailer.public_url).hostname or "localhost"
    return f"<mtt.{token or message_id}@{host}>"


def _compose(
    mailer: Mailer,
    message: targets.OutgoingMessage,
    text: dict[str, object],
    signer: str,
    signer_email: object,
) -> EmailMessage:
    locale = message.target_locale or message.page_locale
    target = _recipient(message)
    mail = EmailMessage(policy=_POLICY)
    mail["Subject"] = render.subject(str(text.get("subject") or ""), target, signer)
    mail["From"] = _from(mailer, signer or render.line(message.org_title))
    if text.get("replyTo") is True and isinstance(signer_email, str) and signer_email:
        mail["Reply-To"] = formataddr((signer, signer_email))
    mail["To"] = ", ".join(formataddr((target.name, a)) for _, a in message.emails)
    mail["Message-ID"] = _message_id(mailer, message.token, message.id)
    body = render.body(str(text.get("body") or ""), target, signer)
    footer = render.footer(locale, signer, message.campaign_title, message.org_title)
    mail.set_content(body + footer)
    mail["Content-Language"] = catalog.language_tag(message.page_locale)
    return mail


def _send_test(
    mailer: Mailer,
    conn: Connection,
    job: DeliveryJob,
    message: targets.OutgoingMessage,
    text: dict[str, object],
    signer: str,
    signer_email: object,
    now: datetime,
) -> None:
    if not isinstance(signer_email, str) or not signer_email:
        raise PermanentFailure("no email address to send the test copy to")
    raw_names = text.get("targets")
    names = [str(n) for n in raw_names] if isinstance(raw_names, list) else []
    locale = message.page_locale
    target = _recipient(message)
    mail = EmailMessage(policy=_POLICY)
    subject = render.subject(str(text.get("subject") or ""), target, signer)
    mail["Subject"] = render.TEST_PREFIX + subject
    mail["From"] = _from(mailer, signer or render.line(message.org_title))
    mail["To"] = formataddr((signer, signer_email))
    mail["Message-ID"] = _message_id(mailer, message.token, message.id)
    mail["Auto-Submitted"] = "auto-generated"
    body = render.body(str(text.get("body") or ""), target, signer)
    footer = render.footer(locale, signer, message.campaign_title, message.org_title)
    mail.set_content(render.test_note(locale, names or [message.target_name]) + body + footer)
    mail["Content-Language"] = catalog.language_tag(locale)
    mailer.server(conn, job.org_id).send(mail)
    targets.mark_sent(conn, message.id, now)
