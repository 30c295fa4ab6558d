"""Public intake: a widget's signature or follow-up action, written in the caller's transaction.

Rules (issue 6, DESIGN §5): validate everything before writing anything; Contact rows only
for orgs entitled to them; one Consent row per decision actually shown to the person; dedupe
by a keyed fingerprint; retries create nothing; flagged and testing actions are stored but
never counted, flagged ones never delivered; the outbox rows commit with the action.
Services never commit: the caller (GraphQL unit of work or the form route) does.

DESIGN (issue 15). A submission is decided here and written in one round trip by the
server-side function of orgs/intake/repository.py; the page's facts come from the process's
cache when it holds them (orgs/intake/pages.py), the write re-checking in SQL that the page
is live. :func:`sign_grouped` hands a widget signature that needs no connection before its
write to the process's group commit (orgs/intake/group.py) instead of a transaction of its
own; anything else (an Idempotency-Key, a message to targets, the database rate limiter, a
page not cached) takes :func:`add_action_contact`, whose answers are the same.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NoReturn
from urllib.parse import urlsplit

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from orgs.crypto import Keyring
from orgs.intake import altcha, repository
from orgs.intake.abuse import Limiter
from orgs.intake.group import BatchFailed, GroupCommit
from orgs.intake.pages import PageCache
from orgs.intake.repository import IntakePage, IssuedRef
from orgs.intake.validation import (
    Code,
    Signature,
    TrackingData,
    not_recorded,
    page_error,
    validate_follow_up,
    validate_link_refs,
    validate_signature,
)
from orgs.models import (
    CampaignStatus,
    ConsentMethod,
    PageStatus,
    TargetMessageKind,
    utcnow,
)
from orgs.scoping import grants, mask_contact, ref_reaches
from orgs.targets import intake as targets
from orgs.targets import render
from orgs.targets import repository as target_repository

log = structlog.get_logger(__name__)

DEFAULT_WINDOW_SECONDS = 300
DEFAULT_REF_TTL_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class RequestMeta:
    """What the transport knows about a submission (never trusted for identity)."""

    ip: str | None = None
    referer: str | None = None
    idempotency_key: str | None = None
    flagged: str | None = None  # already judged suspicious by the transport (honeypot, ...)
    origin: str | None = None  # the browser's Origin header, when it sent one
    altcha: str | None = None  # the X-Altcha proof-of-work solution, when the page asks
    # the org whose API token sent it (OSDI): its own tools are asked no proof of work
    token_org_id: int | None = None


@dataclass(frozen=True)
class IntakeOptions:
    keyring: Keyring
    limiter: Limiter | None = None
    window_seconds: int = DEFAULT_WINDOW_SECONDS
    own_host: str | None = None  # the hub's own host (its /act form) is always allowed
    ref_ttl_seconds: float = DEFAULT_REF_TTL_SECONDS  # how long a contactRef authorises
    # when messages to targets are due (drip slots); tests move it
    clock: Callable[[], datetime] = field(default=utcnow)
    # the process's cache of live pages' intake facts (orgs/intake/pages.py), if any
    pages: PageCache | None = None


@dataclass(frozen=True)
class Receipt:
    """The answer to a submission: the same whether or not the person had acted before.

    A signature's ``contact_ref`` and ``referral_code`` are fresh for every submission
    (orgs/scoping.py: a contactRef is a capability of one submission, not an identity).
    """

    contact_ref: str
    first_name: str | None = None
    referral_code: str | None = None
    action_id: int | None = None  # None when a retry created nothing
    flagged: str | None = None
    mailto: str | None = None  # mail to target in mailto mode: the link for the signer's app


#: Why a follow-up is stored but neither counted nor delivered: its ref was issued for
#: another org's pages, or has expired.
REF_NOT_VALID_HERE = "ref_not_valid_here"


def hash_ref(ref: str) -> bytes:
    """Only the SHA-256 of a contactRef is stored: a database copy authorises nothing."""
    return hashlib.sha256(ref.encode()).digest()


def _new_ref() -> tuple[str, str]:
    """A fresh, unguessable (contactRef, referral code) pair."""
    return secrets.token_urlsafe(18), secrets.token_urlsafe(12)


def _capability(
    refs: list[IssuedRef], page: IntakePage, options: IntakeOptions
) -> IssuedRef | None:
    """The row of ``refs`` that authorises a follow-up on ``page`` (orgs/scoping.py rule)."""
    for row in refs:
        if ref_reaches(
            issued_org_id=row.org_id,
            page_org_id=page.org_id,
            age_seconds=row.age_seconds,
            ttl=options.ref_ttl_seconds,
        ):
            return row
    return None


def check_origin(page: IntakePage, options: IntakeOptions, meta: RequestMeta) -> None:
    """An org may restrict its pages to its own sites (org setting ``embedHosts``).

    Subdomains of a listed host are allowed. Requests without an Origin (servers, scripts)
    are not browser embeds and are not restricted.
    """
    if not page.embed_hosts or not meta.origin:
        return
    host = (urlsplit(meta.origin).hostname or "").lower()
    if host == options.own_host:
        return
    if any(host == allowed or host.endswith("." + allowed) for allowed in page.embed_hosts):
        return
    raise page_error(Code.ORIGIN_NOT_ALLOWED)


async def live_page(
    conn: AsyncConnection, page_id: int, pages: PageCache | None = None
) -> IntakePage:
    """The page a submission goes to; closed and unpublished pages are refused.

    A live page's facts come from ``pages`` when it holds them (the write re-checks in SQL
    that the page and its campaign are still live), and are kept there when loaded.
    """
    cached = pages.get(page_id) if pages is not None else None
    if cached is not None:
        return cached
    generation = pages.generation if pages is not None else 0
    page = await repository.load_page(conn, page_id)
    if page is None or page.campaign_status == CampaignStatus.DRAFT.value:
        raise page_error(Code.PAGE_NOT_FOUND)
    if page.status == PageStatus.CLOSED.value or page.campaign_status == CampaignStatus.CLOSED:
        raise page_error(Code.PAGE_CLOSED)
    if page.status != PageStatus.LIVE.value:
        raise page_error(Code.PAGE_NOT_FOUND)
    if pages is not None:
        pages.put(page, generation)
    return page


def _referrer_host(referer: str | None) -> str | None:
    if not referer:
        return None
    try:
        host = urlsplit(referer).hostname
    except ValueError:
        return None
    return host[:255] if host else None


def _key(meta: RequestMeta) -> str | None:
    key = (meta.idempotency_key or "").strip()
    return key[:128] if key else None


async def _flag(
    conn: AsyncConnection | None, options: IntakeOptions, meta: RequestMeta, page: IntakePage
) -> str | None:
    if meta.flagged:
        return meta.flagged
    if (
        page.altcha
        and meta.token_org_id != page.org_id
        and not altcha.verify(options.keyring, meta.altcha)
    ):
        return "altcha"
    if options.limiter is None:
        return None
    return await options.limiter.flag(conn, meta.ip, page.id)


def _tracking_columns(
    tracking: TrackingData, meta: RequestMeta
) -> tuple[str | None, str | None, str | None]:
    """(source, medium, referrer host): the referrer's host stands in for a missing source."""
    host = _referrer_host(meta.referer)
    source = tracking.source
    if source is None and tracking.referral_code is not None:
        source = "share"
    if source is None:
        source = host
    return source, tracking.medium, host


async def add_action_contact(
    conn: AsyncConnection,
    options: IntakeOptions,
    page_id: int,
    *,
    action: dict[str, Any],
    contact: dict[str, Any],
    privacy: dict[str, Any] | None,
    tracking: dict[str, Any] | None = None,
    contact_ref: str | None = None,
    meta: RequestMeta | None = None,
    thank_you: bool = True,
) -> Receipt:
    """Record a signature (see the module docstring for the guarantees).

    ``thank_you=False`` plans no thank-you mail (an OSDI client's own autoresponse); a
    double opt-in confirmation is mailed all the same.
    """
    submission: dict[str, Any] = {
        "action": action,
        "contact": contact,
        "privacy": privacy,
        "tracking": tracking,
        "contact_ref": contact_ref,
        "meta": meta,
        "thank_you": thank_you,
    }
    return await _fresh_if_stale(_add_action_contact, conn, options, page_id, submission)


async def _fresh_if_stale(
    call: Callable[..., Awaitable[Receipt]],
    conn: AsyncConnection,
    options: IntakeOptions,
    page_id: int,
    submission: dict[str, Any],
) -> Receipt:
    """``call``; made again with the page's facts read afresh when the write found its
    cached copy stale (nothing was written then)."""
    try:
        return await call(conn, options, page_id, **submission)
    except _StalePage:
        pass
    if options.pages is None:
        raise page_error(Code.PAGE_NOT_FOUND) from None  # it changed as we wrote: gone
    try:
        return await call(conn, replace(options, pages=None), page_id, **submission)
    except _StalePage:
        raise page_error(Code.PAGE_NOT_FOUND) from None


async def _add_action_contact(
    conn: AsyncConnection,
    options: IntakeOptions,
    page_id: int,
    *,
    action: dict[str, Any],
    contact: dict[str, Any],
    privacy: dict[str, Any] | None,
    tracking: dict[str, Any] | None,
    contact_ref: str | None,
    meta: RequestMeta | None,
    thank_you: bool,
) -> Receipt:
    meta = meta or RequestMeta()
    page = await live_page(conn, page_id, options.pages)
    check_origin(page, options, meta)
    signature = validate_signature(
        action=action,
        contact=contact,
        privacy=privacy,
        tracking=tracking,
        contact_ref=contact_ref,
        known_versions=page.consent_versions,
    )
    prepared = await targets.prepare(conn, page.id, page.campaign_id, signature.action)
    targets.check_postcode(prepared, signature.contact.address.postcode)
    signer = " ".join(n for n in (signature.contact.first_name, signature.contact.last_name) if n)
    mailto = _mailto(prepared, signer)
    flagged = await _flag(conn, options, meta, page)
    signing = _signing(options, page, signature, meta, flagged, mailto, thank_you)
    row = signing.row
    if (
        row.idempotency_key is not None
        and row.fingerprint is not None
        and row.issue_ref is not None
        and await repository.reissue_for_key(
            conn, page.id, row.idempotency_key, row.fingerprint, *row.issue_ref
        )
    ):
        return signing.receipt
    result = await _write(conn, options, row)
    if flagged is None:
        await _plan_targets(conn, options, prepared, row, result, result.supporter_id)
    return replace(signing.receipt, action_id=result.action_id, flagged=flagged)


@dataclass(frozen=True)
class _Signing:
    """A validated signature, ready to write: its row and the answer it will get."""

    row: repository.ActionRow
    receipt: Receipt  # without the action written (a key's replay answers this as is)


def _signing(
    options: IntakeOptions,
    page: IntakePage,
    signature: Signature,
    meta: RequestMeta,
    flagged: str | None,
    mailto: str | None,
    thank_you: bool,
) -> _Signing:
    """What a signature writes: the visibility rule's copies and consents (orgs/scoping.py),
    encrypted, and a fresh capability; nothing here touches the database."""
    new_ref, referral_code = _new_ref()
    keyring = options.keyring
    given = grants(
        page_org_id=page.org_id,
        lead_org_id=page.lead_org_id,
        delivery_org_id=page.delivery_org_id,
        opt_in=signature.consent.opt_in,
        lead_opt_in=signature.consent.lead_opt_in,
    )
    data = signature.contact.full_payload()
    copies = {
        scope: keyring.encrypt_json(mask_contact(data, scope.value))
        for scope in set(given.contacts.values())
    }
    contacts = [
        (org_id, scope.value, copies[scope], secrets.token_urlsafe(12))
        for org_id, scope in sorted(given.contacts.items())
    ]
    consents = [(org_id, purpose.value, ok) for org_id, purpose, ok in given.consents]
    source, medium, host = _tracking_columns(signature.tracking, meta)
    row = repository.ActionRow(
        page=page,
        fingerprint=keyring.fingerprint(signature.contact.email),
        supporter_id=None,
        anonymous_ref=None,
        action_type=signature.action.action_type,
        custom_fields=signature.action.custom_fields,
        source=source,
        medium=medium,
        tracking_campaign=signature.tracking.campaign,
        content=signature.tracking.content,
        location=signature.tracking.location,
        referrer_host=host,
        referral_code=signature.tracking.referral_code,
        testing=signature.action.testing,
        flagged=flagged,
        idempotency_key=_key(meta),
        window_seconds=options.window_seconds,
        country=signature.contact.address.country,
        contacts=contacts,
        consents=consents,
        consent_version=signature.consent.version or page.consent_version,
        consent_method=(ConsentMethod.DOUBLE if page.double_opt_in else ConsentMethod.SINGLE).value,
        ask=True,
        recipients=given.recipients,
        link_refs=[signature.link_ref] if signature.link_ref else [],
        issue_ref=(hash_ref(new_ref), referral_code),
        shard=secrets.randbelow(repository.COUNTER_SHARDS),
        count_supporter=True,
        mails=True,
        thank_you=page.thank_you_email and thank_you,
    )
    receipt = Receipt(new_ref, signature.contact.first_name, referral_code, mailto=mailto)
    return _Signing(row, receipt)


async def sign_grouped(
    group: GroupCommit,
    connect: Callable[[], AbstractAsyncContextManager[AsyncConnection]],
    options: IntakeOptions,
    page_id: int,
    *,
    action: dict[str, Any],
    contact: dict[str, Any],
    privacy: dict[str, Any] | None,
    tracking: dict[str, Any] | None = None,
    meta: RequestMeta | None = None,
) -> Receipt | None:
    """A signature written in the process's next batch (orgs/intake/group.py), answered once
    that batch has committed; the same guarantees and answers as :func:`add_action_contact`.

    None when the signature needs a connection before its write (its page's facts not
    cached, an Idempotency-Key, a message to targets, the database rate limiter): the caller
    then takes the normal path. ``connect`` opens a transaction of the normal path: for an
    answer needing the database (a page found closed) and for writing the row alone when
    its batch failed (deadlock, connection lost): nothing accepted is lost, nothing written
    twice.
    """
    meta = meta or RequestMeta()
    page = options.pages.get(page_id) if options.pages is not None else None
    if (
        page is None
        or _key(meta) is not None
        or action.get("mtt") is not None
        or (options.limiter is not None and options.limiter.needs_connection)
    ):
        return None
    check_origin(page, options, meta)
    signature = validate_signature(
        action=action,
        contact=contact,
        privacy=privacy,
        tracking=tracking,
        contact_ref=None,
        known_versions=page.consent_versions,
    )
    if signature.action.mtt is not None:
        return None
    flagged = await _flag(None, options, meta, page)
    signing = _signing(options, page, signature, meta, flagged, None, True)
    try:
        answer: dict[str, Any] | None = await group.write(repository.write_params(signing.row))
    except BatchFailed:
        answer = None
    if answer is not None and "error" in answer and not str(answer["error"]).startswith("40"):
        log.warning(
            "intake_row_failed",
            page_id=page_id,
            sqlstate=answer["error"],
            constraint=answer.get("constraint"),
        )
        raise not_recorded()
    try:
        if answer is None or "error" in answer:
            # the batch failed as a whole, or this row lost a deadlock: alone, as normally
            async with connect() as conn:
                result = await _write(conn, options, signing.row)
        else:
            result = repository.read_result(answer)
            if result.refused:
                async with connect() as conn:
                    await refused(conn, options, page_id)
    except _StalePage:
        return None  # the cached facts were stale: the normal path reads them afresh
    return replace(signing.receipt, action_id=result.action_id, flagged=flagged)


def _mailto(prepared: targets.Prepared | None, signer: str) -> str | None:
    """The mailto link of a message in mailto mode (the same answer whatever is recorded)."""
    if prepared is None or prepared.kind is not TargetMessageKind.CLICK:
        return None
    emails = [e for t in prepared.targets for e in t.emails]
    names = [t.name for t in prepared.targets]
    return render.mailto(emails, prepared.text, names, signer)


async def _plan_targets(
    conn: AsyncConnection,
    options: IntakeOptions,
    prepared: targets.Prepared | None,
    row: repository.ActionRow,
    result: repository.WriteResult,
    supporter_id: int | None,
) -> None:
    """The messages to targets of a written, unflagged action (when it carries any)."""
    if prepared is None or result.action_id is None:
        return
    assert supporter_id is not None
    await targets.plan(
        conn,
        options.keyring,
        prepared,
        org_id=row.page.org_id,
        campaign_id=row.page.campaign_id,
        supporter_id=supporter_id,
        action_id=result.action_id,
        testing=row.testing,
        waiting=result.waiting,
        clock=options.clock,
    )


class _StalePage(Exception):
    """The write refused a page its cached facts said was live, and it is live after all
    (the cached facts are older than a change): the submission is made again, uncached."""


async def _write(
    conn: AsyncConnection, options: IntakeOptions, row: repository.ActionRow
) -> repository.WriteResult:
    """One round trip (orgs/intake/repository.py); a page found not live is refused at once
    with the error a fresh load gives (PAGE_CLOSED or PAGE_NOT_FOUND)."""
    result = await repository.write_action(conn, row)
    if result.refused:
        await refused(conn, options, row.page.id)
    return result


async def refused(conn: AsyncConnection, options: IntakeOptions, page_id: int) -> NoReturn:
    """The write found the page or its campaign not live: the error of a fresh load."""
    if options.pages is not None:
        options.pages.forget(page_id)
    await live_page(conn, page_id)  # raises PAGE_CLOSED or PAGE_NOT_FOUND
    raise _StalePage()


async def add_action(
    conn: AsyncConnection,
    options: IntakeOptions,
    page_id: int,
    *,
    action: dict[str, Any],
    contact_ref: str,
    tracking: dict[str, Any] | None = None,
    meta: RequestMeta | None = None,
) -> Receipt:
    """A follow-up (share, mail to target, ...) by the holder of a contactRef, or anonymous.

    A ref issued on a page of this page's org (same campaign, not expired) attaches the
    action to its supporter. A ref issued for another org's pages, or expired, reaches
    nothing: the action is stored flagged (never counted or delivered, not attached). An
    unknown ref is kept on the action as an anonymous reference, linked to the supporter
    when they sign (``contactRef`` of addActionContact, or linkActions). The answer does not
    reveal which case applied.
    """
    submission: dict[str, Any] = {
        "action": action,
        "contact_ref": contact_ref,
        "tracking": tracking,
        "meta": meta,
    }
    return await _fresh_if_stale(_add_action, conn, options, page_id, submission)


async def _add_action(
    conn: AsyncConnection,
    options: IntakeOptions,
    page_id: int,
    *,
    action: dict[str, Any],
    contact_ref: str,
    tracking: dict[str, Any] | None,
    meta: RequestMeta | None,
) -> Receipt:
    meta = meta or RequestMeta()
    page = await live_page(conn, page_id, options.pages)
    check_origin(page, options, meta)
    follow_up = validate_follow_up(action=action, tracking=tracking, contact_ref=contact_ref)
    prepared = await targets.prepare(conn, page.id, page.campaign_id, follow_up.action)
    mailto = _mailto(prepared, "")
    flagged = await _flag(conn, options, meta, page)
    key = _key(meta)
    if key is not None and await repository.key_used(conn, page.id, key):
        return Receipt(follow_up.contact_ref, mailto=mailto)
    refs = await repository.issued_refs(conn, page.campaign_id, hash_ref(follow_up.contact_ref))
    holder = _capability(refs, page, options)
    if refs and holder is None:
        flagged = flagged or REF_NOT_VALID_HERE
    if holder is not None and targets.by_postcode(prepared):
        # only the ref's holder is written for (an unknown ref sends nothing): their
        # postcode is the one they signed with, as the page's org holds it
        postcode = await _signed_postcode(conn, options.keyring, holder.supporter_id, page)
        targets.check_postcode(prepared, postcode, missing=None)
    source, medium, host = _tracking_columns(follow_up.tracking, meta)
    row = repository.ActionRow(
        page=page,
        fingerprint=None,
        supporter_id=holder.supporter_id if holder else None,
        anonymous_ref=None if refs else follow_up.contact_ref,
        action_type=follow_up.action.action_type,
        custom_fields=follow_up.action.custom_fields,
        source=source,
        medium=medium,
        tracking_campaign=follow_up.tracking.campaign,
        content=follow_up.tracking.content,
        location=follow_up.tracking.location,
        referrer_host=host,
        referral_code=follow_up.tracking.referral_code,
        testing=follow_up.action.testing,
        flagged=flagged,
        idempotency_key=key,
        window_seconds=options.window_seconds,
        country=None,
        contacts=[],
        consents=[],
        consent_version=page.consent_version,
        consent_method=ConsentMethod.SINGLE.value,
        ask=False,
        recipients=[page.org_id],
        link_refs=[],
        issue_ref=None,
        shard=secrets.randbelow(repository.COUNTER_SHARDS),
        count_supporter=False,
        mails=False,
        thank_you=False,
    )
    result = await _write(conn, options, row)
    if holder is not None and flagged is None:
        await _plan_targets(conn, options, prepared, row, result, holder.supporter_id)
    return Receipt(
        follow_up.contact_ref,
        None,
        holder.referral_code if holder else None,
        result.action_id,
        flagged,
        mailto,
    )


async def _signed_postcode(
    conn: AsyncConnection, keyring: Keyring, supporter_id: int, page: IntakePage
) -> str | None:
    """The postcode the supporter gave, from the copy the page's org holds (the ref was
    issued on one of its pages, so it collected them); None when none was given."""
    payload = await target_repository.own_contact_payload(conn, supporter_id, page.org_id)
    if payload is None:
        return None
    address = keyring.decrypt_json(payload).get("address") or {}
    postcode = address.get("postcode") if isinstance(address, dict) else None
    return postcode if isinstance(postcode, str) else None


async def link_actions(
    conn: AsyncConnection,
    options: IntakeOptions,
    page_id: int,
    *,
    contact_ref: str,
    link_refs: list[str],
) -> Receipt:
    """Attach anonymous actions taken before signing, on pages of the ref's org, to the
    supporter the contactRef was issued for (the same capability rule as addAction)."""
    page = await live_page(conn, page_id, options.pages)
    ref, refs = validate_link_refs(contact_ref, link_refs)
    holder = _capability(
        await repository.issued_refs(conn, page.campaign_id, hash_ref(ref)), page, options
    )
    if holder is None:
        return Receipt(ref)
    await repository.link_actions(
        conn,
        campaign_id=page.campaign_id,
        org_id=page.org_id,
        supporter_id=holder.supporter_id,
        refs=refs,
    )
    return Receipt(ref, None, holder.referral_code)
