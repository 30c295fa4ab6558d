"""The data model (DESIGN §4): SQLModel tables, one Alembic history in migrations/.

Every org-owned table has a non-null, indexed ``org_id``. Personal data lives only in
``contact.payload`` (encrypted per row with the instance key, see orgs/crypto.py); every
other table holds ids, codes, counts and timestamps.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def utcnow() -> datetime:
    return datetime.now(UTC)


def _created() -> Any:
    return Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now(), "nullable": False},
    )


def _when() -> Any:
    return Field(default=None, sa_type=DateTime(timezone=True), nullable=True)


def _json(default: Any = None) -> Any:
    factory = dict if default is None else (lambda: default)
    return Field(
        default_factory=factory,
        sa_type=JSONB,
        sa_column_kwargs={"nullable": False, "server_default": text("'{}'::jsonb")},
    )


OnDelete = Literal["CASCADE", "SET NULL", "RESTRICT"]


def _fk(
    target: str, *, nullable: bool = False, index: bool = True, ondelete: OnDelete = "CASCADE"
) -> Any:
    default: Any = None if nullable else ...
    return Field(
        default=default,
        sa_type=BigInteger,
        foreign_key=target,
        ondelete=ondelete,
        nullable=nullable,
        index=index,
    )


def _pk() -> Any:
    return Field(default=None, primary_key=True, sa_type=BigInteger)


def _choice(name: str, enum: type[StrEnum]) -> CheckConstraint:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{name} IN ({values})", name=f"{name}_valid")


# --- enums ---------------------------------------------------------------------------------


class StaffRole(StrEnum):
    OWNER = "owner"
    CAMPAIGN_MANAGER = "campaign_manager"
    DATA_MANAGER = "data_manager"
    INTEGRATOR = "integrator"
    VIEWER = "viewer"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    CLOSED = "closed"


class PartnerRole(StrEnum):
    LEAD = "lead"
    COORDINATOR = "coordinator"
    PARTNER = "partner"


class PartnershipStatus(StrEnum):
    INVITED = "invited"
    REQUESTED = "requested"
    ACTIVE = "active"
    DECLINED = "declined"
    REJECTED = "rejected"
    LEFT = "left"
    REMOVED = "removed"


class PageStatus(StrEnum):
    DRAFT = "draft"
    LAUNCH_REQUESTED = "launch_requested"
    LIVE = "live"
    PAUSED = "paused"
    CLOSED = "closed"


class ConfirmationStatus(StrEnum):
    NONE = "none"
    CONFIRMING = "confirming"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class ConsentPurpose(StrEnum):
    COMMUNICATION = "communication"
    DELIVERY = "delivery"


class ConsentMethod(StrEnum):
    SINGLE = "single"
    DOUBLE = "double"


class ContactScope(StrEnum):
    """How much of the personal data an org's Contact row holds (DESIGN §5)."""

    FULL = "full"  # the org collected it or was given communication consent
    DELIVERY = "delivery"  # only what delivering the signatures needs


class DeliveryEvent(StrEnum):
    ACTION_CREATED = "action_created"
    SUPPORTER_CONFIRMED = "supporter_confirmed"
    SUPPORTER_REJECTED = "supporter_rejected"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    ERASURE_REQUESTED = "erasure_requested"
    CONFIRMATION_MAIL = "confirmation_mail"
    THANK_YOU_MAIL = "thank_you_mail"
    ERASURE_LINK_MAIL = "erasure_link_mail"  # the person's own request: a signed link to them
    CONNECTOR_TEST = "connector_test"  # testConnector: a fixed payload, no personal data
    TEST_MAIL = "test_mail"  # a page's mail template, sent to the staff member asking
    PASSWORD_RESET_MAIL = "password_reset_mail"
    INVITATION_MAIL = "invitation_mail"
    TARGET_MAIL = "target_mail"  # a supporter's message to one target (mail to target)


class DeliveryStatus(StrEnum):
    WAITING = "waiting"  # held until the supporter confirms (double opt-in)
    HELD = "held"  # a message to a target: awaiting moderation, or its campaign is paused
    PENDING = "pending"
    QUEUED = "queued"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ConnectorKind(StrEnum):
    WEBHOOK = "webhook"
    SMTP = "smtp"
    ACTION_NETWORK = "actionnetwork"
    MAILCHIMP = "mailchimp"
    CIVICRM = "civicrm"


class TargetEmailStatus(StrEnum):
    ACTIVE = "active"  # gets mail
    BOUNCED = "bounced"  # a mail server refused it (5xx, or too many soft bounces)
    DISABLED = "disabled"  # switched off by the campaign


class MailToTargetMode(StrEnum):
    SERVER = "server"  # the hub sends the messages (drip, cap, moderation)
    MAILTO = "mailto"  # the signer's own mail app sends them: counted as clicks
    BOTH = "both"  # the signer chooses


class TargetSelection(StrEnum):
    CHOOSE = "choose"  # the signer ticks the targets
    POSTCODE = "postcode"  # assigned by the signer's postcode (targets' postcode prefixes)
    ALL = "all"  # every target of the campaign


class Moderation(StrEnum):
    NONE = "none"
    ALL = "all"  # every message waits for a coordinator's approval
    WORDS = "words"  # messages holding a listed word wait for approval


class TargetMessageKind(StrEnum):
    SEND = "send"  # the hub sends it to the target
    CLICK = "click"  # the signer's mail app sent it (mailto): counted, never sent by the hub
    TEST = "test"  # a test: one copy to the signer, never to a target


class TargetHold(StrEnum):
    MODERATION = "moderation"
    PAUSED = "paused"


# --- organisations, people, access ---------------------------------------------------------


class Org(SQLModel, table=True):
    __table_args__ = (CheckConstraint("name ~ '^[a-z0-9][a-z0-9_-]{1,62}$'", name="name_slug"),)

    id: int | None = _pk()
    name: str = Field(sa_type=String(64), unique=True, index=True)
    title: str = Field(sa_type=String(200))
    # privacy_policy_url, embed_hosts: [str], double_opt_in: bool, ...
    settings: dict[str, Any] = _json()
    public_key: str | None = Field(default=None, sa_type=String(64), description="X25519, base64")
    created_at: datetime = _created()


class User(SQLModel, table=True):
    __table_args__ = (Index("uq_user_email_lower", func.lower(text("email")), unique=True),)

    id: int | None = _pk()
    email: str = Field(sa_type=String(320))
    password_hash: str | None = Field(default=None, sa_type=String(200))
    is_active: bool = Field(default=True)
    created_at: datetime = _created()
    last_login_at: datetime | None = _when()


class Staffer(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("org_id", "user_id"), _choice("role", StaffRole))

    id: int | None = _pk()
    org_id: int = _fk("org.id")
    user_id: int = _fk("user.id")
    role: str = Field(sa_type=String(32))
    created_at: datetime = _created()


class ApiToken(SQLModel, table=True):
    """An org's token for CRMs and scripts: ``chub_at_<prefix>_<secret>``, only a hash stored."""

    __tablename__ = "api_token"

    id: int | None = _pk()
    org_id: int = _fk("org.id")
    name: str = Field(sa_type=String(100))
    prefix: str = Field(sa_type=String(16), unique=True, index=True)
    secret_hash: str = Field(sa_type=String(128))
    scopes: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(String(40)), nullable=False)
    )
    created_by_user_id: int | None = _fk("user.id", nullable=True, ondelete="SET NULL")
    expires_at: datetime | None = _when()
    last_used_at: datetime | None = _when()
    revoked_at: datetime | None = _when()
    created_at: datetime = _created()


class RefreshToken(SQLModel, table=True):
    """A user's opaque refresh token (only its SHA-256 stored), rotated on every use.

    Tokens rotated from one login share a ``family``; presenting a used one revokes the family.
    """

    __tablename__ = "refresh_token"

    id: int | None = _pk()
    user_id: int = _fk("user.id")
    family: str = Field(sa_type=String(32), index=True)
    token_hash: str = Field(sa_type=String(64), unique=True, index=True)
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    used_at: datetime | None = _when()
    revoked_at: datetime | None = _when()
    created_at: datetime = _created()


class OneTimeToken(SQLModel, table=True):
    """A single-use link token (password reset, invitation); only its SHA-256 stored."""

    __tablename__ = "one_time_token"

    id: int | None = _pk()
    user_id: int = _fk("user.id")
    purpose: str = Field(sa_type=String(32))
    token_hash: str = Field(sa_type=String(64), unique=True, index=True)
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    used_at: datetime | None = _when()
    created_at: datetime = _created()


# --- campaigns and the coalition -----------------------------------------------------------


class Campaign(SQLModel, table=True):
    """A campaign; its name is unique within the namespace of the org that created it.

    Another tenant's campaign of the same name neither collides with nor is revealed to an
    org (issue 10): names resolve through the caller's partnerships (orgs/scoping.py), or
    qualified as ``<namespace org>/<name>``.
    """

    __table_args__ = (
        CheckConstraint("name ~ '^[a-z0-9][a-z0-9_-]{1,62}$'", name="name_slug"),
        _choice("status", CampaignStatus),
        UniqueConstraint("namespace_org_id", "name"),
    )

    id: int | None = _pk()
    org_id: int = _fk("org.id", ondelete="RESTRICT")  # the lead org
    # the org that created the campaign: its name space (unchanged when the lead moves)
    namespace_org_id: int = _fk("org.id", index=False, ondelete="RESTRICT")
    name: str = Field(sa_type=String(64), index=True)
    title: str = Field(sa_type=String(200))
    goal: int | None = Field(default=None)
    status: str = Field(default=CampaignStatus.DRAFT.value, sa_type=String(16))
    # {"current": "v2", "versions": {"v2": {"optIn": "...", "leadOptIn": "..."}}}
    consent_texts: dict[str, Any] = _json()
    config: dict[str, Any] = _json()
    # signatures are taken from starts_at (when set) until ends_at, then the campaign closes
    starts_at: datetime | None = _when()
    ends_at: datetime | None = _when()
    # public counters as they were when frozen (press work): shown until unfrozen
    frozen_counts: dict[str, Any] | None = Field(default=None, sa_type=JSONB, nullable=True)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Partnership(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("campaign_id", "org_id"),
        _choice("role", PartnerRole),
        _choice("status", PartnershipStatus),
        # at most one lead and one delivery org per campaign
        Index(
            "uq_partnership_lead",
            "campaign_id",
            unique=True,
            postgresql_where=text("role = 'lead'"),
        ),
        Index(
            "uq_partnership_delivery",
            "campaign_id",
            unique=True,
            postgresql_where=text("delivery"),
        ),
    )

    id: int | None = _pk()
    campaign_id: int = _fk("campaign.id")
    org_id: int = _fk("org.id")
    role: str = Field(default=PartnerRole.PARTNER.value, sa_type=String(16))
    status: str = Field(default=PartnershipStatus.INVITED.value, sa_type=String(16))
    delivery: bool = Field(default=False)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class ActionPage(SQLModel, table=True):
    __tablename__ = "action_page"
    __table_args__ = (
        CheckConstraint("name ~ '^[a-z0-9][a-z0-9_./-]{1,126}$'", name="name_format"),
        _choice("status", PageStatus),
    )

    id: int | None = _pk()
    org_id: int = _fk("org.id")
    campaign_id: int = _fk("campaign.id")
    name: str = Field(sa_type=String(128), unique=True, index=True)
    locale: str = Field(default="en", sa_type=String(16))
    config: dict[str, Any] = _json()  # validated against widget/config.schema.json
    status: str = Field(default=PageStatus.DRAFT.value, sa_type=String(20))
    templates: dict[str, Any] = _json()  # thank-you / confirmation mail per locale
    double_opt_in: bool | None = Field(default=None, description="None: follow the org setting")
    thank_you_mail: bool = Field(default=False, description="mail a thank-you after signing")
    launch_message: str | None = Field(default=None, sa_type=String(2000))
    created_at: datetime = _created()
    updated_at: datetime = _created()


# --- supporters and what they did ----------------------------------------------------------


class Supporter(SQLModel, table=True):
    """One person within one campaign, matched by a keyed fingerprint of the normalised email."""

    __table_args__ = (
        UniqueConstraint("campaign_id", "fingerprint"),
        _choice("confirmation", ConfirmationStatus),
    )

    id: int | None = _pk()
    campaign_id: int = _fk("campaign.id", index=False)
    fingerprint: bytes = Field(sa_type=LargeBinary)
    first_action_page_id: int = _fk("action_page.id", ondelete="RESTRICT")
    confirmation: str = Field(default=ConfirmationStatus.NONE.value, sa_type=String(16))
    country: str | None = Field(default=None, sa_type=String(2))
    testing: bool = Field(default=False)
    created_at: datetime = _created()
    confirmed_at: datetime | None = _when()
    erased_at: datetime | None = _when()


class Contact(SQLModel, table=True):
    """One org's copy of a supporter's personal data; exists only where the org is entitled.

    ``ref`` is the org's own reference for the person (contacts.ref, exports, deliveries):
    another org's reference for the same person differs, so two orgs cannot join their lists
    on it, and it authorises nothing.
    """

    __table_args__ = (
        UniqueConstraint("supporter_id", "org_id"),
        UniqueConstraint("org_id", "ref"),
        _choice("scope", ContactScope),
        Index("ix_contact_org_id_created_at", "org_id", "created_at"),
    )

    id: int | None = _pk()
    supporter_id: int = _fk("supporter.id", index=False)
    org_id: int = _fk("org.id")
    ref: str = Field(sa_type=String(64))
    scope: str = Field(default=ContactScope.FULL.value, sa_type=String(16))
    payload: bytes = Field(sa_type=LargeBinary, description="encrypted JSON (orgs/crypto.py)")
    created_at: datetime = _created()
    updated_at: datetime = _created()
    disabled_at: datetime | None = _when()


class Consent(SQLModel, table=True):
    """Proof of a consent decision: who, to which org, for what, with which wording, when."""

    __table_args__ = (
        _choice("purpose", ConsentPurpose),
        _choice("method", ConsentMethod),
        Index("ix_consent_supporter_id_org_id", "supporter_id", "org_id"),
    )

    id: int | None = _pk()
    supporter_id: int = _fk("supporter.id", index=False)
    org_id: int = _fk("org.id")
    action_page_id: int | None = _fk("action_page.id", nullable=True, ondelete="SET NULL")
    # the action the decision was taken with: it grants the org that action's details (§5)
    action_id: int | None = _fk("action.id", nullable=True, ondelete="SET NULL")
    purpose: str = Field(sa_type=String(16))
    given: bool
    wording_version: str | None = Field(default=None, sa_type=String(64))
    method: str = Field(default=ConsentMethod.SINGLE.value, sa_type=String(8))
    created_at: datetime = _created()
    confirmed_at: datetime | None = _when()
    withdrawn_at: datetime | None = _when()


class Action(SQLModel, table=True):
    __table_args__ = (
        Index("ix_action_campaign_id_created_at", "campaign_id", "created_at"),
        Index("ix_action_org_id_created_at", "org_id", "created_at"),
        CheckConstraint("action_type ~ '^[a-zA-Z][a-zA-Z0-9_-]{0,63}$'", name="type_format"),
        # a retried submission (same Idempotency-Key header on the same page) creates nothing
        Index(
            "uq_action_action_page_id_idempotency_key",
            "action_page_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    id: int | None = _pk()
    org_id: int = _fk("org.id", index=False)  # the page's org: who collected it
    campaign_id: int = _fk("campaign.id", index=False)
    action_page_id: int = _fk("action_page.id")
    supporter_id: int | None = _fk("supporter.id", nullable=True)
    action_type: str = Field(sa_type=String(64))
    custom_fields: dict[str, Any] = _json()
    source: str | None = Field(default=None, sa_type=String(255))
    medium: str | None = Field(default=None, sa_type=String(255))
    tracking_campaign: str | None = Field(default=None, sa_type=String(255))
    content: str | None = Field(default=None, sa_type=String(255))
    location: str | None = Field(default=None, sa_type=String(1024))
    referrer_host: str | None = Field(default=None, sa_type=String(255))
    referred_by_supporter_id: int | None = _fk(
        "supporter.id", nullable=True, index=False, ondelete="SET NULL"
    )
    # the sharer's submission whose referral code brought this action (its page, its medium)
    # (created after both tables: contact_ref also points back at action)
    referred_by_ref_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger,
            ForeignKey("contact_ref.id", ondelete="SET NULL", use_alter=True),
            nullable=True,
        ),
    )
    ref: str | None = Field(default=None, sa_type=String(64), index=True)  # anonymous actions
    # facts the dashboard's aggregates need, fixed when the action is taken
    country: str | None = Field(default=None, sa_type=String(2))  # as given with this action
    new_supporter: bool = Field(  # the person's first counted action in the campaign
        default=False, sa_column_kwargs={"server_default": text("false")}
    )
    referral_generation: int = Field(  # 0: not referred; n: through a share of generation n-1
        default=0, sa_column_kwargs={"server_default": text("0")}
    )
    dupe_rank: int = Field(default=0)
    testing: bool = Field(default=False)
    flagged: str | None = Field(default=None, sa_type=String(32), description="why not counted")
    idempotency_key: str | None = Field(default=None, sa_type=String(128))
    created_at: datetime = _created()


class ContactRef(SQLModel, table=True):
    """A contactRef: the capability one submission hands back to its widget (DESIGN §5).

    Every signature issues a fresh, unguessable ref (only its SHA-256 is stored). It
    authorises follow-ups (addAction, linkActions) on pages of the issuing page's org in the
    same campaign, for ``HUB_CONTACT_REF_TTL_DAYS``, and reveals nothing else: two
    submissions of one person share no ref and no referral code.
    """

    __tablename__ = "contact_ref"
    __table_args__ = (UniqueConstraint("ref_hash", "org_id"),)

    id: int | None = _pk()
    ref_hash: bytes = Field(sa_type=LargeBinary)
    supporter_id: int = _fk("supporter.id")
    org_id: int = _fk("org.id")  # the issuing page's org: the only org its ref reaches
    campaign_id: int = _fk("campaign.id", index=False)
    action_page_id: int = _fk("action_page.id", index=False)
    action_id: int | None = _fk("action.id", nullable=True, index=False, ondelete="SET NULL")
    # carried in shared URLs (coalition_ref=...): credits the sharer, identifies no one
    referral_code: str | None = Field(default=None, sa_type=String(32), unique=True)
    created_at: datetime = _created()


class StatRollup(SQLModel, table=True):
    """Aggregates of counted actions per page, day, dimension and key (orgs/stats).

    Kept current by the workers from actions not yet rolled up, so a breakdown reads a few
    rows per page and day, never the actions. Not personal data: counts of sources, media,
    countries, referral generations.
    """

    __tablename__ = "stat_rollup"
    __table_args__ = (
        Index("ix_stat_rollup_campaign_id_dimension_day", "campaign_id", "dimension", "day"),
    )

    action_page_id: int = Field(
        sa_type=BigInteger, foreign_key="action_page.id", ondelete="CASCADE", primary_key=True
    )
    day: date = Field(sa_type=Date, primary_key=True)
    dimension: str = Field(sa_type=String(16), primary_key=True)
    key: str = Field(sa_type=String(300), primary_key=True)
    campaign_id: int = _fk("campaign.id", index=False)
    org_id: int = _fk("org.id")
    n: int = Field(default=0, sa_type=BigInteger)


class StatQueue(SQLModel, table=True):
    """Actions not summed into ``stat_rollup`` yet (orgs/stats/repository.py).

    The signature's statement adds its action; the workers' roll-up takes rows out as it
    sums them. Small (seconds of traffic), so reading what waits is cheap; found through
    the campaign's index, which skips rows the roll-up deleted before the table's vacuum.
    """

    __tablename__ = "stat_queue"
    __table_args__ = (Index("ix_stat_queue_campaign_id", "campaign_id", "action_id"),)

    action_id: int = Field(
        sa_type=BigInteger, foreign_key="action.id", ondelete="CASCADE", primary_key=True
    )
    campaign_id: int = Field(sa_type=BigInteger)


class RateLimitCounter(SQLModel, table=True):
    """Hits per rate-limit key and window, shared by every API process (HUB_RATE_LIMIT_STORAGE)."""

    __tablename__ = "rate_limit_counter"

    key: str = Field(sa_type=String(200), primary_key=True)
    window_start: datetime = Field(sa_type=DateTime(timezone=True), primary_key=True)
    hits: int = Field(default=0)


class StatCounter(SQLModel, table=True):
    """Incrementally maintained public counters, per page and metric (e.g. ``supporters``)."""

    __tablename__ = "stat_counter"

    action_page_id: int = Field(
        sa_type=BigInteger, foreign_key="action_page.id", ondelete="CASCADE", primary_key=True
    )
    metric: str = Field(sa_type=String(80), primary_key=True)
    campaign_id: int = _fk("campaign.id")
    value: int = Field(default=0, sa_type=BigInteger)


# --- delivery ------------------------------------------------------------------------------


class Connector(SQLModel, table=True):
    __table_args__ = (_choice("kind", ConnectorKind),)

    id: int | None = _pk()
    org_id: int = _fk("org.id")
    kind: str = Field(sa_type=String(32))
    name: str = Field(sa_type=String(100))
    config: dict[str, Any] = _json()
    secrets_encrypted: bytes | None = Field(default=None, sa_type=LargeBinary)
    enabled: bool = Field(default=True)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Delivery(SQLModel, table=True):
    """The outbox: one row per (event, org, connector), written with the event it carries."""

    __table_args__ = (
        _choice("status", DeliveryStatus),
        _choice("event", DeliveryEvent),
        Index(
            "ix_delivery_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_delivery_org_id_status", "org_id", "status"),
        Index(  # connector health: delivered lately, last delivery
            "ix_delivery_delivered",
            "connector_id",
            "delivered_at",
            postgresql_where=text("status = 'delivered'"),
        ),
        Index("ix_delivery_supporter_id_connector_id", "supporter_id", "connector_id"),
    )

    id: int | None = _pk()
    org_id: int = _fk("org.id", index=False)
    connector_id: int | None = _fk("connector.id", nullable=True, index=False)
    event: str = Field(sa_type=String(32))
    action_id: int | None = _fk("action.id", nullable=True, index=False, ondelete="SET NULL")
    supporter_id: int | None = _fk("supporter.id", nullable=True, index=False)
    # the staff member a staff mail goes to (test mail, password reset, invitation)
    user_id: int | None = _fk("user.id", nullable=True, index=False)
    # what a staff mail is about (page, mail kind, locale, role): ids and codes only
    details: dict[str, Any] | None = Field(default=None, sa_type=JSONB, nullable=True)
    status: str = Field(default=DeliveryStatus.PENDING.value, sa_type=String(16))
    attempts: int = Field(default=0)
    next_attempt_at: datetime = _created()
    enqueued_at: datetime | None = _when()
    delivered_at: datetime | None = _when()
    last_error: str | None = Field(default=None, sa_type=String(2000))
    idempotency_key: str = Field(sa_type=String(128), unique=True)
    created_at: datetime = _created()
    updated_at: datetime = _created()


# --- mail to target ----------------------------------------------------------------------


class Target(SQLModel, table=True):
    """Someone a campaign's supporters write to (an MP, a mayor, a company's CEO).

    Campaign data, managed by the lead and coordinators; identified publicly by its
    ``external_id``. Its addresses (``target_email``) are never public.
    """

    __table_args__ = (UniqueConstraint("campaign_id", "external_id"),)

    id: int | None = _pk()
    campaign_id: int = _fk("campaign.id", index=False)
    external_id: str = Field(sa_type=String(100))
    name: str = Field(sa_type=String(200))
    area: str | None = Field(default=None, sa_type=String(100))
    locale: str | None = Field(default=None, sa_type=String(16))
    fields: dict[str, Any] = _json()  # party, role, photo URL...: public
    # postcode prefixes the target answers for (normalised: upper case, no spaces)
    postcodes: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(16)), nullable=False, server_default=text("'{}'::varchar[]")),
    )
    active: bool = Field(default=True)
    # the drip cursor: the slot the target's latest message took (orgs/targets/drip.py)
    last_slot_at: datetime | None = _when()
    created_at: datetime = _created()
    updated_at: datetime = _created()


class TargetEmail(SQLModel, table=True):
    """One address of a target; only active ones get mail."""

    __tablename__ = "target_email"
    __table_args__ = (
        Index(
            "uq_target_email_target_id_email", "target_id", func.lower(text("email")), unique=True
        ),
        _choice("status", TargetEmailStatus),
    )

    id: int | None = _pk()
    target_id: int = _fk("target.id", index=False)
    email: str = Field(sa_type=String(320))
    status: str = Field(default=TargetEmailStatus.ACTIVE.value, sa_type=String(16))
    soft_bounces: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_type=String(500))
    bounced_at: datetime | None = _when()
    created_at: datetime = _created()
    updated_at: datetime = _created()


class MailToTarget(SQLModel, table=True):
    """A campaign's mail-to-target settings: how messages go, when, and how fast."""

    __tablename__ = "mail_to_target"
    __table_args__ = (
        _choice("mode", MailToTargetMode),
        _choice("selection", TargetSelection),
        _choice("moderation", Moderation),
        CheckConstraint(
            "daily_start >= 0 AND daily_end <= 1440 AND daily_start < daily_end",
            name="daily_hours",
        ),
        CheckConstraint("hourly_cap BETWEEN 1 AND 3600", name="hourly_cap_range"),
    )

    campaign_id: int = Field(
        sa_type=BigInteger, foreign_key="campaign.id", ondelete="CASCADE", primary_key=True
    )
    mode: str = Field(default=MailToTargetMode.SERVER.value, sa_type=String(16))
    starts_on: date | None = Field(default=None, sa_type=Date, nullable=True)
    ends_on: date | None = Field(default=None, sa_type=Date, nullable=True)
    daily_start: int = Field(default=0, description="minutes after local midnight")
    daily_end: int = Field(default=1440, description="minutes after local midnight, exclusive")
    timezone: str = Field(default="UTC", sa_type=String(64))
    hourly_cap: int = Field(default=60, description="messages per target and hour")
    paused: bool = Field(default=False)
    editable: bool = Field(default=True, description="signers may edit subject and body")
    ask_reply_to: bool = Field(default=False, description="offer to share the signer's email")
    selection: str = Field(default=TargetSelection.CHOOSE.value, sa_type=String(16))
    moderation: str = Field(default=Moderation.NONE.value, sa_type=String(16))
    blocked_words: list[str] = Field(
        default_factory=list,
        sa_column=Column(
            ARRAY(String(100)), nullable=False, server_default=text("'{}'::varchar[]")
        ),
    )
    templates: dict[str, Any] = _json()  # {locale: {subject, body}}
    updated_at: datetime = _created()


class TargetMessage(SQLModel, table=True):
    """One supporter's message to one target (or a mailto click, or a test copy).

    Sent through its outbox row (``delivery_id``, event ``target_mail``), whose status says
    where it is. ``payload`` is the signer's subject and body, encrypted like a contact;
    it is purged when the person is erased, and test messages are purged after a day.
    """

    __tablename__ = "target_message"
    __table_args__ = (
        _choice("kind", TargetMessageKind),
        _choice("hold", TargetHold),
        # one message per supporter and target (a test copy is not one)
        Index(
            "uq_target_message_target_id_supporter_id_kind",
            "target_id",
            "supporter_id",
            "kind",
            unique=True,
            postgresql_where=text("kind <> 'test'"),
        ),
        Index("ix_target_message_campaign_id_target_id", "campaign_id", "target_id"),
        Index("ix_target_message_target_id_sent_at", "target_id", "sent_at"),
    )

    id: int | None = _pk()
    org_id: int = _fk("org.id")  # the page's org: it collected the signature
    campaign_id: int = _fk("campaign.id", index=False)
    target_id: int = _fk("target.id", index=False)
    supporter_id: int = _fk("supporter.id")
    action_id: int | None = _fk("action.id", nullable=True, index=False, ondelete="SET NULL")
    delivery_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger,
            ForeignKey("delivery.id", ondelete="SET NULL"),
            nullable=True,
            unique=True,
        ),
    )
    kind: str = Field(default=TargetMessageKind.SEND.value, sa_type=String(8))
    hold: str | None = Field(default=None, sa_type=String(16))
    payload: bytes | None = Field(default=None, sa_type=LargeBinary, description="encrypted")
    message_token: str | None = Field(default=None, sa_type=String(40))  # Message-ID
    testing: bool = Field(default=False)
    sent_at: datetime | None = _when()
    created_at: datetime = _created()


# --- audit ---------------------------------------------------------------------------------


class AuditEvent(SQLModel, table=True):
    """Who read or exported personal data, who changed roles and partnerships."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_org_id_created_at", "org_id", "created_at"),)

    id: int | None = _pk()
    org_id: int = _fk("org.id", index=False)
    actor_user_id: int | None = _fk("user.id", nullable=True, index=False, ondelete="SET NULL")
    actor_token_id: int | None = _fk(
        "api_token.id", nullable=True, index=False, ondelete="SET NULL"
    )
    action: str = Field(sa_type=String(64))
    subject_type: str | None = Field(default=None, sa_type=String(64))
    subject_id: int | None = Field(default=None, sa_type=BigInteger)
    details: dict[str, Any] = _json()
    created_at: datetime = _created()
