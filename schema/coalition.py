"""Coalition lifecycle mutations (DESIGN §5): typed results, verb-first names.

Generated shape per operation: ``<Op>Input`` -> ``<Op>Result = <Op>Success | <Op>Errors``.
The first gate is the token scope on the field; the second is the policy in the service.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from orgs.models import ActionPage as PageRow
from orgs.models import Campaign as CampaignRow
from orgs.models import Partnership as PartnershipRow
from resolvers import coalition as resolvers
from resolvers.context import Context
from schema.org import Campaign, OrgActionPage
from schema.permissions import require_scope


@strawberry.enum
class CoalitionErrorCode(Enum):
    NOT_FOUND = "not_found"
    PERMISSION_DENIED = "permission_denied"
    INVALID = "invalid"
    ALREADY_EXISTS = "already_exists"
    INVALID_STATE = "invalid_state"


@strawberry.type
class CoalitionError:
    field: str
    code: CoalitionErrorCode
    message: str


@strawberry.enum
class PartnerRoleInput(Enum):
    COORDINATOR = "coordinator"
    PARTNER = "partner"
    LEAD = "lead"


@strawberry.enum
class CampaignStatusInput(Enum):
    DRAFT = "draft"
    LIVE = "live"
    CLOSED = "closed"


@strawberry.type
class Partnership:
    id: int
    campaign_id: int
    org_id: int
    role: str
    status: str
    delivery: bool

    @classmethod
    def from_row(cls, row: PartnershipRow) -> Partnership:
        assert row.id is not None
        return cls(
            id=row.id,
            campaign_id=row.campaign_id,
            org_id=row.org_id,
            role=row.role,
            status=row.status,
            delivery=row.delivery,
        )


def _errors(outcome: resolvers.Outcome) -> list[CoalitionError]:
    return [
        CoalitionError(field=e.field, code=CoalitionErrorCode(e.code.value), message=e.message)
        for e in outcome.errors
    ]


@strawberry.input
class AddCampaignInput:
    org: str
    name: str
    title: str
    goal: int | None = None


@strawberry.type
class AddCampaignSuccess:
    campaign: Campaign


@strawberry.type
class AddCampaignErrors:
    errors: list[CoalitionError]


AddCampaignResult = Annotated[
    AddCampaignSuccess | AddCampaignErrors, strawberry.union("AddCampaignResult")
]


@strawberry.input
class UpdateCampaignInput:
    campaign: str
    title: str | None = None
    goal: int | None = None
    status: CampaignStatusInput | None = None


@strawberry.type
class UpdateCampaignSuccess:
    campaign: Campaign


@strawberry.type
class UpdateCampaignErrors:
    errors: list[CoalitionError]


UpdateCampaignResult = Annotated[
    UpdateCampaignSuccess | UpdateCampaignErrors, strawberry.union("UpdateCampaignResult")
]


@strawberry.input
class CloseCampaignInput:
    campaign: str


@strawberry.type
class CloseCampaignSuccess:
    campaign: Campaign


@strawberry.type
class CloseCampaignErrors:
    errors: list[CoalitionError]


CloseCampaignResult = Annotated[
    CloseCampaignSuccess | CloseCampaignErrors, strawberry.union("CloseCampaignResult")
]


@strawberry.input
class TransferLeadInput:
    campaign: str
    org: str


@strawberry.type
class TransferLeadSuccess:
    partnership: Partnership


@strawberry.type
class TransferLeadErrors:
    errors: list[CoalitionError]


TransferLeadResult = Annotated[
    TransferLeadSuccess | TransferLeadErrors, strawberry.union("TransferLeadResult")
]


@strawberry.input
class InvitePartnerInput:
    campaign: str
    org: str
    role: PartnerRoleInput = PartnerRoleInput.PARTNER


@strawberry.type
class InvitePartnerSuccess:
    partnership: Partnership


@strawberry.type
class InvitePartnerErrors:
    errors: list[CoalitionError]


InvitePartnerResult = Annotated[
    InvitePartnerSuccess | InvitePartnerErrors, strawberry.union("InvitePartnerResult")
]


@strawberry.input
class AcceptPartnershipInput:
    campaign: str
    org: str


@strawberry.type
class AcceptPartnershipSuccess:
    partnership: Partnership


@strawberry.type
class AcceptPartnershipErrors:
    errors: list[CoalitionError]


AcceptPartnershipResult = Annotated[
    AcceptPartnershipSuccess | AcceptPartnershipErrors, strawberry.union("AcceptPartnershipResult")
]


@strawberry.input
class DeclinePartnershipInput:
    campaign: str
    org: str


@strawberry.type
class DeclinePartnershipSuccess:
    partnership: Partnership


@strawberry.type
class DeclinePartnershipErrors:
    errors: list[CoalitionError]


DeclinePartnershipResult = Annotated[
    DeclinePartnershipSuccess | DeclinePartnershipErrors,
    strawberry.union("DeclinePartnershipResult"),
]


@strawberry.input
class RequestToJoinInput:
    campaign: str
    org: str


@strawberry.type
class RequestToJoinSuccess:
    partnership: Partnership


@strawberry.type
class RequestToJoinErrors:
    errors: list[CoalitionError]


RequestToJoinResult = Annotated[
    RequestToJoinSuccess | RequestToJoinErrors, strawberry.union("RequestToJoinResult")
]


@strawberry.input
class ApprovePartnerInput:
    campaign: str
    org: str


@strawberry.type
class ApprovePartnerSuccess:
    partnership: Partnership


@strawberry.type
class ApprovePartnerErrors:
    errors: list[CoalitionError]


ApprovePartnerResult = Annotated[
    ApprovePartnerSuccess | ApprovePartnerErrors, strawberry.union("ApprovePartnerResult")
]


@strawberry.input
class RejectPartnerInput:
    campaign: str
    org: str


@strawberry.type
class RejectPartnerSuccess:
    partnership: Partnership


@strawberry.type
class RejectPartnerErrors:
    errors: list[CoalitionError]


RejectPartnerResult = Annotated[
    RejectPartnerSuccess | RejectPartnerErrors, strawberry.union("RejectPartnerResult")
]


@strawberry.input
class LeaveCampaignInput:
    campaign: str
    org: str


@strawberry.type
class LeaveCampaignSuccess:
    partnership: Partnership


@strawberry.type
class LeaveCampaignErrors:
    errors: list[CoalitionError]


LeaveCampaignResult = Annotated[
    LeaveCampaignSuccess | LeaveCampaignErrors, strawberry.union("LeaveCampaignResult")
]


@strawberry.input
class RemovePartnerInput:
    campaign: str
    org: str


@strawberry.type
class RemovePartnerSuccess:
    partnership: Partnership


@strawberry.type
class RemovePartnerErrors:
    errors: list[CoalitionError]


RemovePartnerResult = Annotated[
    RemovePartnerSuccess | RemovePartnerErrors, strawberry.union("RemovePartnerResult")
]


@strawberry.input
class SetDeliveryOrgInput:
    campaign: str
    org: str | None = None


@strawberry.type
class SetDeliveryOrgSuccess:
    campaign: Campaign


@strawberry.type
class SetDeliveryOrgErrors:
    errors: list[CoalitionError]


SetDeliveryOrgResult = Annotated[
    SetDeliveryOrgSuccess | SetDeliveryOrgErrors, strawberry.union("SetDeliveryOrgResult")
]


@strawberry.input
class AddActionPageInput:
    campaign: str
    org: str
    name: str


@strawberry.type
class AddActionPageSuccess:
    page: OrgActionPage


@strawberry.type
class AddActionPageErrors:
    errors: list[CoalitionError]


AddActionPageResult = Annotated[
    AddActionPageSuccess | AddActionPageErrors, strawberry.union("AddActionPageResult")
]


@strawberry.input
class RequestLaunchInput:
    page: str


@strawberry.type
class RequestLaunchSuccess:
    page: OrgActionPage


@strawberry.type
class RequestLaunchErrors:
    errors: list[CoalitionError]


RequestLaunchResult = Annotated[
    RequestLaunchSuccess | RequestLaunchErrors, strawberry.union("RequestLaunchResult")
]


@strawberry.input
class ApproveLaunchInput:
    page: str
    message: str | None = None


@strawberry.type
class ApproveLaunchSuccess:
    page: OrgActionPage


@strawberry.type
class ApproveLaunchErrors:
    errors: list[CoalitionError]


ApproveLaunchResult = Annotated[
    ApproveLaunchSuccess | ApproveLaunchErrors, strawberry.union("ApproveLaunchResult")
]


@strawberry.input
class RejectLaunchInput:
    page: str
    message: str


@strawberry.type
class RejectLaunchSuccess:
    page: OrgActionPage


@strawberry.type
class RejectLaunchErrors:
    errors: list[CoalitionError]


RejectLaunchResult = Annotated[
    RejectLaunchSuccess | RejectLaunchErrors, strawberry.union("RejectLaunchResult")
]


@strawberry.input
class PausePageInput:
    page: str


@strawberry.type
class PausePageSuccess:
    page: OrgActionPage


@strawberry.type
class PausePageErrors:
    errors: list[CoalitionError]


PausePageResult = Annotated[PausePageSuccess | PausePageErrors, strawberry.union("PausePageResult")]


@strawberry.input
class ClosePageInput:
    page: str


@strawberry.type
class ClosePageSuccess:
    page: OrgActionPage


@strawberry.type
class ClosePageErrors:
    errors: list[CoalitionError]


ClosePageResult = Annotated[ClosePageSuccess | ClosePageErrors, strawberry.union("ClosePageResult")]


@strawberry.type
class CoalitionMutation:
    @strawberry.mutation(permission_classes=[require_scope("campaigns:write")])
    async def add_campaign(
        self, info: Info[Context, None], input: AddCampaignInput
    ) -> AddCampaignResult:
        outcome = await resolvers.add_campaign(
            info.context, org=input.org, name=input.name, title=input.title, goal=input.goal
        )
        if outcome.row is None:
            return AddCampaignErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, CampaignRow)
        return AddCampaignSuccess(campaign=Campaign.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("campaigns:write")])
    async def update_campaign(
        self, info: Info[Context, None], input: UpdateCampaignInput
    ) -> UpdateCampaignResult:
        outcome = await resolvers.update_campaign(
            info.context,
            campaign=input.campaign,
            title=input.title,
            goal=input.goal,
            status=input.status.value if input.status is not None else None,
        )
        if outcome.row is None:
            return UpdateCampaignErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, CampaignRow)
        return UpdateCampaignSuccess(campaign=Campaign.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("campaigns:write")])
    async def close_campaign(
        self, info: Info[Context, None], input: CloseCampaignInput
    ) -> CloseCampaignResult:
        outcome = await resolvers.close_campaign(info.context, campaign=input.campaign)
        if outcome.row is None:
            return CloseCampaignErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, CampaignRow)
        return CloseCampaignSuccess(campaign=Campaign.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("partners:write")])
    async def transfer_lead(
        self, info: Info[Context, None], input: TransferLeadInput
    ) -> TransferLeadResult:
        outcome = await resolvers.transfer_lead(
            info.context, campaign=input.campaign, org=input.org
        )
        if outcome.row is None:
            return TransferLeadErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, PartnershipRow)
        return TransferLeadSuccess(partnership=Partnership.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("partners:write")])
    async def invite_partner(
        self, info: Info[Context, None], input: InvitePartnerInput
    ) -> InvitePartnerResult:
        outcome = await resolvers.invite_partner(
            info.context, campaign=input.campaign, org=input.org, role=input.role.value
        )
        if outcome.row is None:
            return InvitePartnerErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, PartnershipRow)
        return InvitePartnerSuccess(partnership=Partnership.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("partners:write")])
    async def accept_partnership(
        self, info: Info[Context, None], input: AcceptPartnershipInput
    ) -> AcceptPartnershipResult:
        outcome = await resolvers.accept_partnership(
            info.context, campaign=input.campaign, org=input.org
        )
        if outcome.row is None:
            return AcceptPartnershipErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, PartnershipRow)
        return AcceptPartnershipSuccess(partnership=Partnership.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("partners:write")])
    async def decline_partnership(
        self, info: Info[Context, None], input: DeclinePartnershipInput
    ) -> DeclinePartnershipResult:
        outcome = await resolvers.decline_partnership(
            info.context, campaign=input.campaign, org=input.org
        )
        if outcome.row is None:
            return DeclinePartnershipErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, PartnershipRow)
        return DeclinePartnershipSuccess(partnership=Partnership.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("partners:write")])
    async def request_to_join(
        self, info: Info[Context, None], input: RequestToJoinInput
    ) -> RequestToJoinResult:
        outcome = await resolvers.request_to_join(
            info.context, campaign=input.campaign, org=input.org
        )
        if outcome.row is None:
            return RequestToJoinErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, PartnershipRow)
        return RequestToJoinSuccess(partnership=Partnership.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("partners:write")])
    async def approve_partner(
        self, info: Info[Context, None], input: ApprovePartnerInput
    ) -> ApprovePartnerResult:
        outcome = await resolvers.approve_partner(
            info.context, campaign=input.campaign, org=input.org
        )
        if outcome.row is None:
            return ApprovePartnerErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, PartnershipRow)
        return ApprovePartnerSuccess(partnership=Partnership.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("partners:write")])
    async def reject_partner(
        self, info: Info[Context, None], input: RejectPartnerInput
    ) -> RejectPartnerResult:
        outcome = await resolvers.reject_partner(
            info.context, campaign=input.campaign, org=input.org
        )
        if outcome.row is None:
            return RejectPartnerErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, PartnershipRow)
        return RejectPartnerSuccess(partnership=Partnership.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("partners:write")])
    async def leave_campaign(
        self, info: Info[Context, None], input: LeaveCampaignInput
    ) -> LeaveCampaignResult:
        outcome = await resolvers.leave_campaign(
            info.context, campaign=input.campaign, org=input.org
        )
        if outcome.row is None:
            return LeaveCampaignErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, PartnershipRow)
        return LeaveCampaignSuccess(partnership=Partnership.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("partners:write")])
    async def remove_partner(
        self, info: Info[Context, None], input: RemovePartnerInput
    ) -> RemovePartnerResult:
        outcome = await resolvers.remove_partner(
            info.context, campaign=input.campaign, org=input.org
        )
        if outcome.row is None:
            return RemovePartnerErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, PartnershipRow)
        return RemovePartnerSuccess(partnership=Partnership.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("partners:write")])
    async def set_delivery_org(
        self, info: Info[Context, None], input: SetDeliveryOrgInput
    ) -> SetDeliveryOrgResult:
        outcome = await resolvers.set_delivery_org(
            info.context, campaign=input.campaign, org=input.org
        )
        if outcome.row is None:
            return SetDeliveryOrgErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, CampaignRow)
        return SetDeliveryOrgSuccess(campaign=Campaign.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("pages:write")])
    async def add_action_page(
        self, info: Info[Context, None], input: AddActionPageInput
    ) -> AddActionPageResult:
        outcome = await resolvers.add_action_page(
            info.context, campaign=input.campaign, org=input.org, name=input.name
        )
        if outcome.row is None:
            return AddActionPageErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, PageRow)
        return AddActionPageSuccess(page=OrgActionPage.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("pages:write")])
    async def request_launch(
        self, info: Info[Context, None], input: RequestLaunchInput
    ) -> RequestLaunchResult:
        outcome = await resolvers.request_launch(info.context, page=input.page)
        if outcome.row is None:
            return RequestLaunchErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, PageRow)
        return RequestLaunchSuccess(page=OrgActionPage.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("pages:write")])
    async def approve_launch(
        self, info: Info[Context, None], input: ApproveLaunchInput
    ) -> ApproveLaunchResult:
        outcome = await resolvers.approve_launch(
            info.context, page=input.page, message=input.message
        )
        if outcome.row is None:
            return ApproveLaunchErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, PageRow)
        return ApproveLaunchSuccess(page=OrgActionPage.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("pages:write")])
    async def reject_launch(
        self, info: Info[Context, None], input: RejectLaunchInput
    ) -> RejectLaunchResult:
        outcome = await resolvers.reject_launch(
            info.context, page=input.page, message=input.message
        )
        if outcome.row is None:
            return RejectLaunchErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, PageRow)
        return RejectLaunchSuccess(page=OrgActionPage.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("pages:write")])
    async def pause_page(self, info: Info[Context, None], input: PausePageInput) -> PausePageResult:
        outcome = await resolvers.pause_page(info.context, page=input.page)
        if outcome.row is None:
            return PausePageErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, PageRow)
        return PausePageSuccess(page=OrgActionPage.from_row(outcome.row))

    @strawberry.mutation(permission_classes=[require_scope("pages:write")])
    async def close_page(self, info: Info[Context, None], input: ClosePageInput) -> ClosePageResult:
        outcome = await resolvers.close_page(info.context, page=input.page)
        if outcome.row is None:
            return ClosePageErrors(errors=_errors(outcome))
        assert isinstance(outcome.row, PageRow)
        return ClosePageSuccess(page=OrgActionPage.from_row(outcome.row))
