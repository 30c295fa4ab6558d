"""Plain factory functions, one per model: ``await make_org(session, name="a")``.

Each fills sensible defaults, flushes, and returns the row. Names are unique per call.
"""

from __future__ import annotations

import itertools
import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.crypto import Keyring
from orgs.identity.service import hash_password, issue_token
from orgs.models import (
    Action,
    ActionPage,
    ApiToken,
    AuditEvent,
    Campaign,
    CampaignStatus,
    Connector,
    ConnectorKind,
    Consent,
    ConsentPurpose,
    Contact,
    ContactScope,
    Delivery,
    DeliveryEvent,
    MailToTarget,
    Org,
    PageStatus,
    PartnerRole,
    Partnership,
    PartnershipStatus,
    Staffer,
    StaffRole,
    Supporter,
    Target,
    TargetEmail,
    TargetMessage,
    User,
)
from permissions.roles import ALL_SCOPES

_seq = itertools.count(1)


def _n() -> int:
    return next(_seq)


async def _save(session: AsyncSession, row: Any) -> Any:
    session.add(row)
    await session.flush()
    return row


async def make_org(session: AsyncSession, name: str | None = None, **kw: Any) -> Org:
    name = name or f"org-{_n()}-{secrets.token_hex(3)}"
    kw.setdefault("title", name.replace("-", " ").title())
    kw.setdefault("settings", {"privacy_policy_url": f"https://{name}.example.org/privacy"})
    return await _save(session, Org(name=name, **kw))  # type: ignore[no-any-return]


async def make_user(
    session: AsyncSession, email: str | None = None, password: str = "correct horse battery"
) -> User:
    email = email or f"user{_n()}-{secrets.token_hex(3)}@example.org"
    return await _save(session, User(email=email, password_hash=hash_password(password)))  # type: ignore[no-any-return]


async def make_staffer(
    session: AsyncSession, org: Org, user: User | None = None, role: StaffRole = StaffRole.OWNER
) -> Staffer:
    user = user or await make_user(session)
    return await _save(session, Staffer(org_id=org.id, user_id=user.id, role=role.value))  # type: ignore[no-any-return]


async def make_token(
    session: AsyncSession, org: Org, scopes: list[str] | None = None, **kw: Any
) -> tuple[ApiToken, str]:
    """An API token row and its plaintext (owner-level scopes by default)."""
    assert org.id is not None
    issued = await issue_token(
        session, org.id, kw.pop("name", "test token"), list(scopes or ALL_SCOPES), **kw
    )
    return issued.token, issued.plaintext


async def make_campaign(
    session: AsyncSession, lead: Org, name: str | None = None, **kw: Any
) -> Campaign:
    """A live campaign led by ``lead``, with its lead partnership."""
    name = name or f"campaign-{_n()}-{secrets.token_hex(3)}"
    kw.setdefault("title", name.replace("-", " ").title())
    kw.setdefault("status", CampaignStatus.LIVE.value)
    kw.setdefault("goal", 1000)
    kw.setdefault(
        "consent_texts",
        {
            "current": "v1",
            "versions": {"v1": {"optIn": "Email me, {org}", "leadOptIn": "Email me, {lead}"}},
        },
    )
    kw.setdefault("namespace_org_id", lead.id)
    campaign = await _save(session, Campaign(org_id=lead.id, name=name, **kw))
    await make_partnership(session, campaign, lead, role=PartnerRole.LEAD)
    return campaign  # type: ignore[no-any-return]


async def make_partnership(
    session: AsyncSession,
    campaign: Campaign,
    org: Org,
    role: PartnerRole = PartnerRole.PARTNER,
    status: PartnershipStatus = PartnershipStatus.ACTIVE,
    delivery: bool = False,
) -> Partnership:
    return await _save(  # type: ignore[no-any-return]
        session,
        Partnership(
            campaign_id=campaign.id,
            org_id=org.id,
            role=role.value,
            status=status.value,
            delivery=delivery,
        ),
    )


async def make_page(
    session: AsyncSession,
    org: Org,
    campaign: Campaign,
    name: str | None = None,
    status: PageStatus = PageStatus.LIVE,
    **kw: Any,
) -> ActionPage:
    name = name or f"{org.name}/page-{_n()}"
    return await _save(  # type: ignore[no-any-return]
        session,
        ActionPage(org_id=org.id, campaign_id=campaign.id, name=name, status=status.value, **kw),
    )


async def make_supporter(
    session: AsyncSession, page: ActionPage, keyring: Keyring, email: str | None = None, **kw: Any
) -> Supporter:
    email = email or f"supporter{_n()}@example.net"
    return await _save(  # type: ignore[no-any-return]
        session,
        Supporter(
            campaign_id=page.campaign_id,
            fingerprint=keyring.fingerprint(email.lower()),
            first_action_page_id=page.id,
            **kw,
        ),
    )


async def make_contact(
    session: AsyncSession,
    supporter: Supporter,
    org: Org,
    keyring: Keyring,
    data: dict[str, Any] | None = None,
    scope: ContactScope = ContactScope.FULL,
) -> Contact:
    payload = keyring.encrypt_json(data or {"email": "someone@example.net", "firstName": "Sam"})
    return await _save(  # type: ignore[no-any-return]
        session,
        Contact(
            supporter_id=supporter.id,
            org_id=org.id,
            scope=scope.value,
            payload=payload,
            ref=secrets.token_urlsafe(12),
        ),
    )


async def make_consent(
    session: AsyncSession,
    supporter: Supporter,
    org: Org,
    given: bool = True,
    purpose: ConsentPurpose = ConsentPurpose.COMMUNICATION,
    **kw: Any,
) -> Consent:
    return await _save(  # type: ignore[no-any-return]
        session,
        Consent(supporter_id=supporter.id, org_id=org.id, purpose=purpose.value, given=given, **kw),
    )


async def make_action(
    session: AsyncSession,
    page: ActionPage,
    supporter: Supporter | None = None,
    action_type: str = "signature",
    **kw: Any,
) -> Action:
    return await _save(  # type: ignore[no-any-return]
        session,
        Action(
            org_id=page.org_id,
            campaign_id=page.campaign_id,
            action_page_id=page.id,
            supporter_id=supporter.id if supporter else None,
            action_type=action_type,
            **kw,
        ),
    )


async def make_connector(
    session: AsyncSession,
    org: Org,
    kind: ConnectorKind = ConnectorKind.WEBHOOK,
    config: dict[str, Any] | None = None,
    **kw: Any,
) -> Connector:
    return await _save(  # type: ignore[no-any-return]
        session,
        Connector(
            org_id=org.id,
            kind=kind.value,
            name=kw.pop("name", f"{kind.value}-{_n()}"),
            config=config or {"url": "http://127.0.0.1:9/hook"},
            **kw,
        ),
    )


async def make_delivery(
    session: AsyncSession,
    org: Org,
    connector: Connector | None = None,
    action: Action | None = None,
    event: DeliveryEvent = DeliveryEvent.ACTION_CREATED,
    **kw: Any,
) -> Delivery:
    return await _save(  # type: ignore[no-any-return]
        session,
        Delivery(
            org_id=org.id,
            connector_id=connector.id if connector else None,
            action_id=action.id if action else None,
            supporter_id=action.supporter_id if action else None,
            event=event.value,
            idempotency_key=kw.pop("idempotency_key", secrets.token_hex(16)),
            **kw,
        ),
    )


async def make_audit_event(
    session: AsyncSession, org: Org, action: str = "test.event", **kw: Any
) -> AuditEvent:
    return await _save(session, AuditEvent(org_id=org.id, action=action, **kw))  # type: ignore[no-any-return]


async def make_target(
    session: AsyncSession,
    campaign: Campaign,
    external_id: str | None = None,
    emails: list[str] | None = None,
    **kw: Any,
) -> Target:
    """A target of ``campaign`` with active addresses (one made-up address by default)."""
    external_id = external_id or f"t-{_n()}"
    kw.setdefault("name", f"Target {external_id}")
    target = await _save(session, Target(campaign_id=campaign.id, external_id=external_id, **kw))
    for address in emails if emails is not None else [f"{external_id}@targets.example.org"]:
        await _save(session, TargetEmail(target_id=target.id, email=address))
    return target  # type: ignore[no-any-return]


async def make_mail_to_target(session: AsyncSession, campaign: Campaign, **kw: Any) -> MailToTarget:
    """A campaign's mail-to-target settings (templates in English by default)."""
    kw.setdefault(
        "templates",
        {"en": {"subject": "Please act, {target}", "body": "Dear {target},\n\nPlease act."}},
    )
    return await _save(session, MailToTarget(campaign_id=campaign.id, **kw))  # type: ignore[no-any-return]


async def make_target_message(
    session: AsyncSession,
    target: Target,
    supporter: Supporter,
    page: ActionPage,
    keyring: Keyring,
    status: str = "held",
    hold: str | None = "moderation",
    words: dict[str, str] | None = None,
    **kw: Any,
) -> TargetMessage:
    """A message of ``supporter`` to ``target`` with its outbox row (held for moderation)."""
    delivery = await _save(
        session,
        Delivery(
            org_id=page.org_id,
            event=DeliveryEvent.TARGET_MAIL.value,
            supporter_id=supporter.id,
            status=status,
            idempotency_key=f"target_mail:test:{secrets.token_hex(8)}",
        ),
    )
    payload = keyring.encrypt_json(words or {"subject": "Hello", "body": "Please act."})
    return await _save(  # type: ignore[no-any-return]
        session,
        TargetMessage(
            org_id=page.org_id,
            campaign_id=page.campaign_id,
            target_id=target.id,
            supporter_id=supporter.id,
            delivery_id=delivery.id,
            hold=hold,
            payload=payload,
            **kw,
        ),
    )
