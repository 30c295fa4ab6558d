"""Mail to target (docs/mail-to-target.md): targets, sending settings, pause, cancel,
moderation, and the managers' reads.

The first gate is the ``campaigns:write`` token scope on every field here (targets are
campaign data); the second is the policy in the service (the lead and coordinators). The
public reads (targets without addresses, the counters, the widget's settings) hang off
``actionPage.campaign`` (schema/public.py).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeAlias

import strawberry
from strawberry.types import Info

from orgs.models import DeliveryStatus as DeliveryStatusValue
from orgs.models import MailToTarget as SettingsRow
from orgs.models import MailToTargetMode as ModeValue
from orgs.models import Moderation as ModerationValue
from orgs.models import TargetEmailStatus as EmailStatusValue
from orgs.models import TargetSelection as SelectionValue
from orgs.targets import drip, service
from orgs.targets.repository import MessageCounts
from orgs.targets.service import AreaView, Missing, TargetErrorCode, TargetView
from resolvers import targets as resolvers
from resolvers.context import Context
from resolvers.outcome import attempt
from schema.delivery import DeliveryStatus
from schema.permissions import require_scope
from schema.results import field_error, operation, respond
from schema.scalars import JsonValue

TargetError = field_error(
    "TargetError", TargetErrorCode, "A problem with a mail-to-target request; nothing changed."
)
MailToTargetMode = strawberry.enum(ModeValue, name="MailToTargetMode")
TargetSelection = strawberry.enum(SelectionValue, name="TargetSelection")
MessageModeration = strawberry.enum(ModerationValue, name="MessageModeration")
TargetEmailStatus = strawberry.enum(EmailStatusValue, name="TargetEmailStatus")
MissingTargets = strawberry.enum(Missing, name="MissingTargets")


@strawberry.enum
class TargetEmailStatusInput(Enum):
    ACTIVE = "active"
    DISABLED = "disabled"


# --- types ---------------------------------------------------------------------------------


@strawberry.type(description="One address of a target (never public).")
class TargetEmail:
    email: str
    status: TargetEmailStatus  # type: ignore[valid-type]
    soft_bounces: int
    last_error: str | None
    bounced_at: datetime | None


@strawberry.type(description="Messages to targets by state (tests excluded).")
class TargetMessageCounts:
    sent: int
    queued: int = strawberry.field(description="Still to go (due later, being sent).")
    held: int = strawberry.field(description="Awaiting moderation, or the campaign is paused.")
    held_for_moderation: int = strawberry.field(
        description="Of `held`: awaiting a coordinator's decision (`moderateTargetMessages`)."
    )
    failed: int
    cancelled: int
    clicks: int = strawberry.field(description="Sent from the signer's own mail app (mailto).")

    @classmethod
    def from_counts(cls, c: MessageCounts) -> TargetMessageCounts:
        return cls(
            sent=c.sent,
            queued=c.queued,
            held=c.held,
            held_for_moderation=c.held_for_moderation,
            failed=c.failed,
            cancelled=c.cancelled,
            clicks=c.clicks,
        )


@strawberry.type(description="A target as the campaign's managers see it.")
class Target:
    external_id: str
    name: str
    area: str | None
    locale: str | None
    fields: JsonValue
    postcodes: list[str]
    active: bool
    emails: list[TargetEmail]
    messages: TargetMessageCounts

    @classmethod
    def from_view(cls, view: TargetView) -> Target:
        t, c = view.target, view.counts
        return cls(
            external_id=t.external_id,
            name=t.name,
            area=t.area,
            locale=t.locale,
            fields=JsonValue(t.fields),
            postcodes=list(t.postcodes),
            active=t.active,
            emails=[
                TargetEmail(
                    email=e.email,
                    status=EmailStatusValue(e.status),
                    soft_bounces=e.soft_bounces,
                    last_error=e.last_error,
                    bounced_at=e.bounced_at,
                )
                for e in view.emails
            ],
            messages=TargetMessageCounts.from_counts(c),
        )


@strawberry.type(
    description="The messages to the targets of one area, by state (the campaign's managers)."
)
class TargetArea:
    area: str | None = strawberry.field(description="As the targets spell it; null: no area.")
    targets: int = strawberry.field(description="The area's targets, active or not.")
    active_targets: int
    messages: TargetMessageCounts

    @classmethod
    def from_view(cls, view: AreaView) -> TargetArea:
        return cls(
            area=view.area,
            targets=view.targets,
            active_targets=view.active,
            messages=TargetMessageCounts.from_counts(view.counts),
        )


@strawberry.type(description="When and how fast messages go to each target.")
class SendingWindow:
    starts_on: date | None = strawberry.field(description="First day (null: from now).")
    ends_on: date | None = strawberry.field(description="Last day, included (null: no end).")
    daily_start: str = strawberry.field(description="HH:MM, local time.")
    daily_end: str = strawberry.field(description="HH:MM, local time (24:00: midnight).")
    timezone: str
    hourly_cap: int = strawberry.field(description="At most this many per target and hour.")


@strawberry.type
class MailToTargetTemplate:
    locale: str
    subject: str
    body: str


@strawberry.type(description="A campaign's mail-to-target settings.")
class MailToTargetSettings:
    mode: MailToTargetMode  # type: ignore[valid-type]
    editable: bool = strawberry.field(description="Signers may edit subject and message.")
    ask_reply_to: bool = strawberry.field(
        description="Signers are offered to let targets reply to them (their email goes along)."
    )
    selection: TargetSelection  # type: ignore[valid-type]
    moderation: MessageModeration  # type: ignore[valid-type]
    blocked_words: list[str]
    paused: bool
    window: SendingWindow
    templates: list[MailToTargetTemplate]

    @classmethod
    def from_row(cls, row: SettingsRow) -> MailToTargetSettings:
        return cls(
            mode=ModeValue(row.mode),
            editable=row.editable,
            ask_reply_to=row.ask_reply_to,
            selection=SelectionValue(row.selection),
            moderation=ModerationValue(row.moderation),
            blocked_words=list(row.blocked_words),
            paused=row.paused,
            window=SendingWindow(
                starts_on=row.starts_on,
                ends_on=row.ends_on,
                daily_start=drip.format_clock(row.daily_start),
                daily_end=drip.format_clock(row.daily_end),
                timezone=row.timezone,
                hourly_cap=row.hourly_cap,
            ),
            templates=[
                MailToTargetTemplate(
                    locale=locale,
                    subject=str(parts.get("subject") or ""),
                    body=str(parts.get("body") or ""),
                )
                for locale, parts in sorted((row.templates or {}).items())
                if isinstance(parts, dict)
            ],
        )


@strawberry.type(description="A supporter's message to a target, as its managers see it.")
class TargetMessage:
    id: int
    target: str = strawberry.field(description="The target's external id.")
    target_name: str
    status: DeliveryStatus  # type: ignore[valid-type]
    hold: str | None = strawberry.field(description="moderation or paused, while held.")
    subject: str | None = strawberry.field(description="null once forgotten (erasure).")
    body: str | None
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


# --- inputs --------------------------------------------------------------------------------


@strawberry.input
class TargetEmailInput:
    email: str
    status: TargetEmailStatusInput | None = strawberry.field(
        default=None, description="null: keep the address's status (a new one is active)."
    )


@strawberry.input
class TargetInput:
    external_id: str = strawberry.field(description="Unique in the campaign; what signers send.")
    name: str
    area: str | None = strawberry.field(
        default=None, description="Country, region, constituency or any label."
    )
    locale: str | None = strawberry.field(
        default=None, description="The language the target reads."
    )
    fields: JsonValue | None = strawberry.field(
        default=None, description="Public free fields: party, role, photo URL..."
    )
    postcodes: list[str] | None = strawberry.field(
        default=None, description="Postcode prefixes the target answers for."
    )
    emails: list[TargetEmailInput] | None = strawberry.field(
        default=None, description="Replaces the target's addresses (null: keep them)."
    )
    active: bool | None = strawberry.field(
        default=None, description="false: disable it (its queued messages are cancelled)."
    )


@strawberry.input
class UpsertTargetsInput:
    campaign: str
    targets: list[TargetInput]
    missing: MissingTargets = strawberry.field(  # type: ignore[valid-type]
        default=Missing.KEEP,
        description="The campaign's targets not listed: KEEP, REPLACE (deleted, or disabled "
        "when messages refer to them) or DISABLE.",
    )


@strawberry.input
class SendingWindowInput:
    starts_on: date | None = None
    ends_on: date | None = None
    daily_start: str = "00:00"
    daily_end: str = "24:00"
    timezone: str = "UTC"
    hourly_cap: int = drip.DEFAULT_HOURLY_CAP


@strawberry.input
class MailToTargetTemplateInput:
    locale: str
    subject: str = strawberry.field(description="{target}: the target's name.")
    body: str = strawberry.field(
        description="Plain text; {target}: the target's name, {signer}: the signer's."
    )


@strawberry.input
class UpdateMailToTargetInput:
    campaign: str
    mode: MailToTargetMode | None = None  # type: ignore[valid-type]
    editable: bool | None = None
    ask_reply_to: bool | None = None
    selection: TargetSelection | None = None  # type: ignore[valid-type]
    moderation: MessageModeration | None = None  # type: ignore[valid-type]
    blocked_words: list[str] | None = None
    templates: list[MailToTargetTemplateInput] | None = strawberry.field(
        default=None, description="Replaced whole."
    )
    window: SendingWindowInput | None = strawberry.field(
        default=None, description="Replaced whole (fields left out take their defaults)."
    )


@strawberry.input
class PauseMailToTargetInput:
    campaign: str


@strawberry.input
class ResumeMailToTargetInput:
    campaign: str


@strawberry.input
class CancelTargetMessagesInput:
    campaign: str
    target: str = strawberry.field(description="The target's external id.")


@strawberry.input
class ModerateTargetMessagesInput:
    campaign: str
    ids: list[int]
    approve: bool


# --- operations ----------------------------------------------------------------------------

UpsertTargets = operation("UpsertTargets", TargetError, targets=list[Target])
UpdateMailToTarget = operation("UpdateMailToTarget", TargetError, settings=MailToTargetSettings)
PauseMailToTarget = operation("PauseMailToTarget", TargetError, settings=MailToTargetSettings)
ResumeMailToTarget = operation("ResumeMailToTarget", TargetError, settings=MailToTargetSettings)
CancelTargetMessages = operation("CancelTargetMessages", TargetError, cancelled=int)
ModerateTargetMessages = operation("ModerateTargetMessages", TargetError, count=int)

if TYPE_CHECKING:  # generated at run time (schema/results.py); opaque to mypy
    UpsertTargetsResult: TypeAlias = Any
    UpdateMailToTargetResult: TypeAlias = Any
    PauseMailToTargetResult: TypeAlias = Any
    ResumeMailToTargetResult: TypeAlias = Any
    CancelTargetMessagesResult: TypeAlias = Any
    ModerateTargetMessagesResult: TypeAlias = Any
else:
    UpsertTargetsResult = UpsertTargets.result
    UpdateMailToTargetResult = UpdateMailToTarget.result
    PauseMailToTargetResult = PauseMailToTarget.result
    ResumeMailToTargetResult = ResumeMailToTarget.result
    CancelTargetMessagesResult = CancelTargetMessages.result
    ModerateTargetMessagesResult = ModerateTargetMessages.result

CAMPAIGNS = [require_scope("campaigns:write")]


def _targets(views: list[TargetView]) -> Any:
    return UpsertTargets.success(targets=[Target.from_view(v) for v in views])


def _emails(given: list[TargetEmailInput] | None) -> list[service.EmailInput] | None:
    if given is None:
        return None
    return [
        service.EmailInput(
            e.email, EmailStatusValue(e.status.value) if e.status is not None else None
        )
        for e in given
    ]


@strawberry.type
class TargetMutation:
    @strawberry.mutation(
        permission_classes=CAMPAIGNS,
        description="Create or update a campaign's targets by external id (lead, coordinators).",
    )
    async def upsert_targets(
        self, info: Info[Context, None], input: UpsertTargetsInput
    ) -> UpsertTargetsResult:
        targets = [
            service.TargetInput(
                external_id=t.external_id,
                name=t.name,
                area=t.area,
                locale=t.locale,
                fields=t.fields,
                postcodes=t.postcodes,
                emails=_emails(t.emails),
                active=t.active,
            )
            for t in input.targets
        ]
        done = await attempt(
            info.context, service.upsert_targets, input.campaign, targets, Missing(input.missing)
        )
        return respond(UpsertTargets, done, _targets)

    @strawberry.mutation(
        permission_classes=CAMPAIGNS,
        description="How messages go to targets: mode, editing, window and cap, moderation.",
    )
    async def update_mail_to_target(
        self, info: Info[Context, None], input: UpdateMailToTargetInput
    ) -> UpdateMailToTargetResult:
        window = input.window
        done = await attempt(
            info.context,
            service.update_settings,
            input.campaign,
            mode=ModeValue(input.mode.value) if input.mode else None,
            editable=input.editable,
            ask_reply_to=input.ask_reply_to,
            selection=SelectionValue(input.selection.value) if input.selection else None,
            moderation=ModerationValue(input.moderation.value) if input.moderation else None,
            blocked_words=input.blocked_words,
            templates=[service.TemplateInput(t.locale, t.subject, t.body) for t in input.templates]
            if input.templates is not None
            else None,
            window=service.WindowInput(
                starts_on=window.starts_on,
                ends_on=window.ends_on,
                daily_start=window.daily_start,
                daily_end=window.daily_end,
                timezone=window.timezone,
                hourly_cap=window.hourly_cap,
            )
            if window is not None
            else None,
        )
        return respond(
            UpdateMailToTarget,
            done,
            lambda row: UpdateMailToTarget.success(settings=MailToTargetSettings.from_row(row)),
        )

    @strawberry.mutation(
        permission_classes=CAMPAIGNS, description="Stop sending to the campaign's targets."
    )
    async def pause_mail_to_target(
        self, info: Info[Context, None], input: PauseMailToTargetInput
    ) -> PauseMailToTargetResult:
        done = await attempt(info.context, service.pause, input.campaign)
        return respond(
            PauseMailToTarget,
            done,
            lambda row: PauseMailToTarget.success(settings=MailToTargetSettings.from_row(row)),
        )

    @strawberry.mutation(
        permission_classes=CAMPAIGNS,
        description="Send again: held messages are spread over the window from now.",
    )
    async def resume_mail_to_target(
        self, info: Info[Context, None], input: ResumeMailToTargetInput
    ) -> ResumeMailToTargetResult:
        done = await attempt(info.context, service.resume, input.campaign)
        return respond(
            ResumeMailToTarget,
            done,
            lambda row: ResumeMailToTarget.success(settings=MailToTargetSettings.from_row(row)),
        )

    @strawberry.mutation(
        permission_classes=CAMPAIGNS, description="Cancel one target's messages not sent yet."
    )
    async def cancel_target_messages(
        self, info: Info[Context, None], input: CancelTargetMessagesInput
    ) -> CancelTargetMessagesResult:
        done = await attempt(info.context, service.cancel_messages, input.campaign, input.target)
        return respond(
            CancelTargetMessages, done, lambda n: CancelTargetMessages.success(cancelled=n)
        )

    @strawberry.mutation(
        permission_classes=CAMPAIGNS,
        description="Approve or reject messages held for moderation.",
    )
    async def moderate_target_messages(
        self, info: Info[Context, None], input: ModerateTargetMessagesInput
    ) -> ModerateTargetMessagesResult:
        done = await attempt(
            info.context, service.moderate, input.campaign, list(input.ids), input.approve
        )
        return respond(
            ModerateTargetMessages, done, lambda n: ModerateTargetMessages.success(count=n)
        )


@strawberry.type
class TargetQuery:
    @strawberry.field(
        permission_classes=CAMPAIGNS,
        description="A campaign's targets with their addresses and message counts (lead and "
        "coordinators); null otherwise.",
    )
    async def campaign_targets(
        self, info: Info[Context, None], campaign: str
    ) -> list[Target] | None:
        views = await resolvers.campaign_targets(info.context, campaign)
        return None if views is None else [Target.from_view(v) for v in views]

    @strawberry.field(
        permission_classes=CAMPAIGNS,
        description="A campaign's messages to targets per target area, by state (lead and "
        "coordinators; no address, no text); null otherwise.",
    )
    async def campaign_target_areas(
        self, info: Info[Context, None], campaign: str
    ) -> list[TargetArea] | None:
        views = await resolvers.campaign_target_areas(info.context, campaign)
        return None if views is None else [TargetArea.from_view(v) for v in views]

    @strawberry.field(
        permission_classes=CAMPAIGNS,
        description="A campaign's mail-to-target settings (lead and coordinators).",
    )
    async def mail_to_target(
        self, info: Info[Context, None], campaign: str
    ) -> MailToTargetSettings | None:
        row = await resolvers.settings(info.context, campaign)
        return None if row is None else MailToTargetSettings.from_row(row)

    @strawberry.field(
        permission_classes=CAMPAIGNS,
        description="Messages to targets, newest first, with their texts (lead and "
        "coordinators; the moderation queue is status HELD). Audited.",
    )
    async def target_messages(
        self,
        info: Info[Context, None],
        campaign: str,
        status: DeliveryStatus | None = None,  # type: ignore[valid-type]
        target: str | None = None,
        first: int = 50,
        after: int | None = None,
    ) -> list[TargetMessage] | None:
        views = await resolvers.messages(
            info.context,
            campaign,
            DeliveryStatusValue(status) if status is not None else None,
            target,
            after,
            first,
        )
        if views is None:
            return None
        return [
            TargetMessage(
                id=v.id,
                target=v.target,
                target_name=v.target_name,
                status=DeliveryStatusValue(v.status),
                hold=v.hold,
                subject=v.subject,
                body=v.body,
                created_at=v.created_at,
                sent_at=v.sent_at,
                last_error=v.last_error,
            )
            for v in views
        ]
