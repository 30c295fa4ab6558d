"""Public intake: a widget's signature or follow-up action, written in the caller's transaction.

Rules (issue 6, DESIGN §5): validate everything before writing anything; Contact rows only
for orgs entitled to them; one Consent row per decision actually shown to the person; dedupe
by a keyed fingerprint; retries create nothing; flagged and testing actions are stored but
never counted, flagged ones never delivered; the outbox rows commit with the action.
Services never commit: the caller (GraphQL unit of work or the form route) does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from orgs.crypto import Keyring
from orgs.intake import altcha, repository
from orgs.intake.abuse import Limiter
from orgs.intake.repository import IntakePage, SupporterRow
from orgs.intake.validation import (
    Code,
    ConsentData,
    ContactData,
    TrackingData,
    page_error,
    validate_follow_up,
    validate_link_refs,
    validate_signature,
)
from orgs.models import (
    CampaignStatus,
    ConfirmationStatus,
    ConsentMethod,
    ConsentPurpose,
    ContactScope,
    DeliveryEvent,
    PageStatus,
)
from workers.outbox import plan_deliveries, plan_mail

DEFAULT_WINDOW_SECONDS = 300


@dataclass(frozen=True)
class RequestMeta:
    """What the transport knows about a submission (never trusted for identity)."""

    ip: str | None = None
    referer: str | None = None
    idempotency_key: str | None = None
    flagged: str | None = None  # already judged suspicious by the transport (honeypot, ...)
    origin: str | None = None  # the browser's Origin header, when it sent one
    altcha: str | None = None  # the X-Altcha proof-of-work solution, when the page asks


@dataclass(frozen=True)
class IntakeOptions:
    keyring: Keyring
    limiter: Limiter | None = None
    window_seconds: int = DEFAULT_WINDOW_SECONDS
    own_host: str | None = None  # the hub's own host (its /act form) is always allowed


@dataclass(frozen=True)
class Receipt:
    """The answer to a submission: the same whether or not the person had acted before."""

    contact_ref: str
    first_name: str | None = None
    referral_code: str | None = None
    action_id: int | None = None  # None when a retry created nothing
    flagged: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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


async def live_page(conn: AsyncConnection, page_id: int) -> IntakePage:
    """The page a submission goes to; closed and unpublished pages are refused."""
    page = await repository.load_page(conn, page_id)
    if page is None or page.campaign_status == CampaignStatus.DRAFT.value:
        raise page_error(Code.PAGE_NOT_FOUND)
    if page.status == PageStatus.CLOSED.value or page.campaign_status == CampaignStatus.CLOSED:
        raise page_error(Code.PAGE_CLOSED)
    if page.status != PageStatus.LIVE.value:
        raise page_error(Code.PAGE_NOT_FOUND)
    return page


def referral_code_for(keyring: Keyring, ref: str) -> str:
    """The code carried in shared URLs: names the sharer without exposing the contactRef."""
    return keyring.sign("referral", ref)[:16]


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
    conn: AsyncConnection, options: IntakeOptions, meta: RequestMeta, page: IntakePage
) -> str | None:
    if meta.flagged:
        return meta.flagged
    if page.altcha and not altcha.verify(options.keyring, meta.altcha):
        return "altcha"
    if options.limiter is None:
        return None
    return await options.limiter.flag(conn, meta.ip, page.id)


def contacts_and_consents(
    page: IntakePage, contact: ContactData, consent: ConsentData, keyring: Keyring
) -> tuple[list[tuple[int, str, bytes]], list[tuple[int, str, bool]]]:
    """Contact rows exactly per DESIGN §5, and the consent decisions as shown.

    1. the page's org collected the data: full contact;
    2. the lead org with lead opt-in: full contact;
    3. the delivery org: full when 1 or 2 already applies to it, else only delivery fields.
    A consent box that was not shown (None) records nothing and grants nothing.
    """
    full = keyring.encrypt_json(contact.full_payload())
    contacts: dict[int, tuple[str, bytes]] = {page.org_id: (ContactScope.FULL.value, full)}
    consents: list[tuple[int, str, bool]] = []
    communication = ConsentPurpose.COMMUNICATION.value
    if consent.opt_in is not None:
        consents.append((page.org_id, communication, consent.opt_in))
    if page.lead_org_id != page.org_id:
        if consent.lead_opt_in is not None:
            consents.append((page.lead_org_id, communication, consent.lead_opt_in))
        if consent.lead_opt_in:
            contacts[page.lead_org_id] = (ContactScope.FULL.value, full)
    elif consent.opt_in is None and consent.lead_opt_in is not None:
        consents.append((page.org_id, communication, consent.lead_opt_in))
    delivery = page.delivery_org_id
    if delivery is not None:
        consents.append((delivery, ConsentPurpose.DELIVERY.value, True))
        if delivery not in contacts:
            limited = keyring.encrypt_json(contact.delivery_payload())
            contacts[delivery] = (ContactScope.DELIVERY.value, limited)
    rows = [(org_id, scope, payload) for org_id, (scope, payload) in sorted(contacts.items())]
    return rows, consents


def _entitled(page: IntakePage) -> list[int]:
    orgs = {page.org_id, page.lead_org_id}
    if page.delivery_org_id is not None:
        orgs.add(page.delivery_org_id)
    return sorted(orgs)


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
) -> Receipt:
    """Record a signature (see the module docstring for the guarantees)."""
    meta = meta or RequestMeta()
    page = await live_page(conn, page_id)
    check_origin(page, options, meta)
    signature = validate_signature(
        action=action,
        contact=contact,
        privacy=privacy,
        tracking=tracking,
        contact_ref=contact_ref,
        known_versions=page.consent_versions,
    )
    flagged = await _flag(conn, options, meta, page)
    first_name = signature.contact.first_name
    key = _key(meta)
    if key is not None:
        earlier = await repository.ref_by_idempotency_key(conn, page.id, key)
        if earlier is not None:
            return Receipt(earlier[0], first_name, earlier[1])
    keyring = options.keyring
    new_ref = secrets.token_urlsafe(16)
    supporter = await repository.upsert_supporter(
        conn,
        campaign_id=page.campaign_id,
        fingerprint=keyring.fingerprint(signature.contact.email),
        ref=new_ref,
        referral_code=referral_code_for(keyring, new_ref),
        page_id=page.id,
        country=signature.contact.address.country,
        testing=signature.action.testing,
    )
    contacts, consents = contacts_and_consents(page, signature.contact, signature.consent, keyring)
    waiting = page.double_opt_in and supporter.confirmation != ConfirmationStatus.CONFIRMED
    source, medium, host = _tracking_columns(signature.tracking, meta)
    result = await repository.write_action(
        conn,
        repository.ActionRow(
            page=page,
            supporter_id=supporter.id,
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
            idempotency_key=key,
            window_seconds=options.window_seconds,
            country=signature.contact.address.country,
            contacts=contacts,
            consents=consents,
            consent_version=signature.consent.version or page.consent_version,
            consent_method=(
                ConsentMethod.DOUBLE if page.double_opt_in else ConsentMethod.SINGLE
            ).value,
            confirm=waiting and flagged is None,
            entitled_org_ids=_entitled(page),
            link_refs=[signature.link_ref] if signature.link_ref else [],
            shard=secrets.randbelow(repository.COUNTER_SHARDS),
            count_supporter=True,
        ),
    )
    if result.action_id is not None and flagged is None:
        await _plan_outbox(conn, page, supporter, result, waiting=waiting, mails=True)
    return Receipt(supporter.ref, first_name, supporter.referral_code, result.action_id, flagged)


async def _plan_outbox(
    conn: AsyncConnection,
    page: IntakePage,
    supporter: SupporterRow,
    result: repository.WriteResult,
    *,
    waiting: bool,
    mails: bool,
) -> None:
    await plan_deliveries(
        conn,
        event=DeliveryEvent.ACTION_CREATED,
        org_ids=result.delivery_org_ids,
        supporter_id=supporter.id,
        action_id=result.action_id,
        waiting=waiting,
    )
    if not mails:
        return
    if waiting:
        event = DeliveryEvent.CONFIRMATION_MAIL
    elif page.thank_you_email:
        event = DeliveryEvent.THANK_YOU_MAIL
    else:
        return
    await plan_mail(
        conn,
        event=event,
        org_id=page.org_id,
        supporter_id=supporter.id,
        action_id=result.action_id,
    )


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
    """A follow-up (share, mail to target, ...) by a known supporter, or an anonymous one.

    An unknown contactRef is kept on the action as an anonymous reference, linked to the
    supporter when they sign (``contactRef`` of addActionContact, or linkActions). The
    answer does not reveal which case applied.
    """
    meta = meta or RequestMeta()
    page = await live_page(conn, page_id)
    check_origin(page, options, meta)
    follow_up = validate_follow_up(action=action, tracking=tracking, contact_ref=contact_ref)
    flagged = await _flag(conn, options, meta, page)
    key = _key(meta)
    if key is not None:
        earlier = await repository.ref_by_idempotency_key(conn, page.id, key)
        if earlier is not None:
            return Receipt(earlier[0], None, earlier[1])
    supporter = await repository.lock_supporter_by_ref(
        conn, page.campaign_id, follow_up.contact_ref
    )
    source, medium, host = _tracking_columns(follow_up.tracking, meta)
    result = await repository.write_action(
        conn,
        repository.ActionRow(
            page=page,
            supporter_id=supporter.id if supporter else None,
            anonymous_ref=None if supporter else follow_up.contact_ref,
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
            confirm=False,
            entitled_org_ids=_entitled(page),
            link_refs=[],
            shard=secrets.randbelow(repository.COUNTER_SHARDS),
            count_supporter=False,
        ),
    )
    if supporter is not None and result.action_id is not None and flagged is None:
        waiting = page.double_opt_in and supporter.confirmation != ConfirmationStatus.CONFIRMED
        await _plan_outbox(conn, page, supporter, result, waiting=waiting, mails=False)
    return Receipt(
        follow_up.contact_ref,
        None,
        supporter.referral_code if supporter else None,
        result.action_id,
        flagged,
    )


async def link_actions(
    conn: AsyncConnection, page_id: int, *, contact_ref: str, link_refs: list[str]
) -> Receipt:
    """Attach anonymous actions taken before signing to the supporter ``contact_ref``."""
    page = await live_page(conn, page_id)
    ref, refs = validate_link_refs(contact_ref, link_refs)
    supporter = await repository.lock_supporter_by_ref(conn, page.campaign_id, ref)
    if supporter is None:
        return Receipt(ref)
    await repository.link_actions(
        conn, campaign_id=page.campaign_id, supporter_id=supporter.id, refs=refs
    )
    return Receipt(ref, None, supporter.referral_code)
