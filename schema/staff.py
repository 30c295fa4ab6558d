"""Staff management (owners, or MANAGE_STAFF): list, change role, remove."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from orgs.models import Staffer
from orgs.models import StaffRole as StaffRoleValue
from orgs.staff.service import StaffError as ServiceError
from orgs.staff.service import StaffErrorCode as ServiceErrorCode
from resolvers import staff as resolvers
from resolvers.context import Context
from schema.permissions import require_scope

StaffRole = strawberry.enum(StaffRoleValue, name="StaffRole")


StaffErrorCode = strawberry.enum(ServiceErrorCode, name="StaffErrorCode")


@strawberry.type
class StaffError:
    field: list[str]
    code: StaffErrorCode  # type: ignore[valid-type]
    message: str

    @classmethod
    def from_service(cls, error: ServiceError) -> StaffError:
        return cls(field=list(error.field), code=error.code, message=error.message)


@strawberry.type
class StaffMember:
    user_id: int
    email: str
    role: StaffRole  # type: ignore[valid-type]

    @classmethod
    def from_row(cls, row: Staffer, email: str) -> StaffMember:
        return cls(user_id=row.user_id, email=email, role=StaffRoleValue(row.role))


@strawberry.type
class ChangeStaffRoleSuccess:
    user_id: int
    role: StaffRole  # type: ignore[valid-type]


@strawberry.type
class ChangeStaffRoleErrors:
    errors: list[StaffError]


ChangeStaffRoleResult = Annotated[
    ChangeStaffRoleSuccess | ChangeStaffRoleErrors, strawberry.union("ChangeStaffRoleResult")
]


@strawberry.type
class RemoveStaffSuccess:
    user_id: int


@strawberry.type
class RemoveStaffErrors:
    errors: list[StaffError]


RemoveStaffResult = Annotated[
    RemoveStaffSuccess | RemoveStaffErrors, strawberry.union("RemoveStaffResult")
]


@strawberry.type
class InviteStaffSuccess:
    link: str = strawberry.field(description="One-time link for the invitee (until mail).")


@strawberry.type
class InviteStaffErrors:
    errors: list[StaffError]


InviteStaffResult = Annotated[
    InviteStaffSuccess | InviteStaffErrors, strawberry.union("InviteStaffResult")
]


@strawberry.input
class InviteStaffInput:
    org: str
    email: str
    role: StaffRole  # type: ignore[valid-type]


@strawberry.input
class ChangeStaffRoleInput:
    org: str
    user_id: int
    role: StaffRole  # type: ignore[valid-type]


@strawberry.input
class RemoveStaffInput:
    org: str
    user_id: int


@strawberry.type
class StaffQuery:
    @strawberry.field(
        description="Staff of an org you manage; empty for any other org.",
        permission_classes=[require_scope("staff:write")],
    )
    async def staff(self, info: Info[Context, None], org: str) -> list[StaffMember]:
        rows = await resolvers.staff(info.context, org)
        return [StaffMember.from_row(row, email) for row, email in rows]


@strawberry.type
class StaffMutation:
    @strawberry.mutation(
        description="Invite someone as staff (creating the user); returns the one-time link.",
        permission_classes=[require_scope("staff:write")],
    )
    async def invite_staff(
        self, info: Info[Context, None], input: InviteStaffInput
    ) -> InviteStaffResult:
        result = await resolvers.invite_staff(
            info.context, input.org, input.email, StaffRoleValue(input.role)
        )
        if isinstance(result, ServiceError):
            return InviteStaffErrors(errors=[StaffError.from_service(result)])
        return InviteStaffSuccess(link=result)

    @strawberry.mutation(
        description="Change a staff member's role (never demotes the last owner).",
        permission_classes=[require_scope("staff:write")],
    )
    async def change_staff_role(
        self, info: Info[Context, None], input: ChangeStaffRoleInput
    ) -> ChangeStaffRoleResult:
        result = await resolvers.change_staff_role(
            info.context, input.org, input.user_id, StaffRoleValue(input.role)
        )
        if isinstance(result, ServiceError):
            return ChangeStaffRoleErrors(errors=[StaffError.from_service(result)])
        return ChangeStaffRoleSuccess(user_id=result.user_id, role=StaffRoleValue(result.role))

    @strawberry.mutation(
        description="Remove a staff member from the org (never the last owner).",
        permission_classes=[require_scope("staff:write")],
    )
    async def remove_staff(
        self, info: Info[Context, None], input: RemoveStaffInput
    ) -> RemoveStaffResult:
        result = await resolvers.remove_staff(info.context, input.org, input.user_id)
        if isinstance(result, ServiceError):
            return RemoveStaffErrors(errors=[StaffError.from_service(result)])
        return RemoveStaffSuccess(user_id=result.user_id)
