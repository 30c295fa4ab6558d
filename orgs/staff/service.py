"""Staff management rules: role changes and removal, never leaving an org without an owner."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.audit import repository as audit
from orgs.identity.links import LinkPurpose, create_link
from orgs.identity.service import create_user
from orgs.models import DeliveryEvent, Staffer, StaffRole, utcnow
from orgs.outbox.repository import plan_staff_mail
from orgs.scoping import Scope
from orgs.staff import repository
from permissions.policies import can_manage_staff


class StaffErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    LAST_OWNER = "LAST_OWNER"


@dataclass(frozen=True)
class StaffError:
    field: tuple[str, ...]
    code: StaffErrorCode
    message: str


NOT_FOUND = StaffError(("input", "userId"), StaffErrorCode.NOT_FOUND, "No such staff member")
LAST_OWNER = StaffError(
    ("input", "userId"), StaffErrorCode.LAST_OWNER, "An org must keep at least one owner"
)


async def list_staff(session: AsyncSession, scope: Scope, org_id: int) -> list[tuple[Staffer, str]]:
    if not can_manage_staff(scope.subject, org_id):
        return []
    return await repository.staff_of_org(session, scope, org_id)


async def _audit(
    session: AsyncSession, scope: Scope, org_id: int, action: str, staffer: Staffer, **details: str
) -> None:
    await audit.record(session, scope, org_id, action, "staffer", staffer.user_id, dict(details))


async def _target(session: AsyncSession, scope: Scope, org_id: int, user_id: int) -> Staffer | None:
    if not can_manage_staff(scope.subject, org_id):
        return None  # looks the same as a missing staff member
    return await repository.staffer_for_update(session, scope, org_id, user_id)


async def change_role(
    session: AsyncSession, scope: Scope, org_id: int, user_id: int, role: StaffRole
) -> Staffer | StaffError:
    staffer = await _target(session, scope, org_id, user_id)
    if staffer is None:
        return NOT_FOUND
    old = staffer.role
    demotes_owner = old == StaffRole.OWNER.value and role is not StaffRole.OWNER
    if demotes_owner and await repository.owner_count(session, scope, org_id) <= 1:
        return LAST_OWNER
    staffer.role = role.value
    await session.flush()
    await _audit(session, scope, org_id, "staff.role_changed", staffer, old=old, new=role.value)
    return staffer


async def remove(
    session: AsyncSession, scope: Scope, org_id: int, user_id: int
) -> Staffer | StaffError:
    staffer = await _target(session, scope, org_id, user_id)
    if staffer is None:
        return NOT_FOUND
    is_owner = staffer.role == StaffRole.OWNER.value
    if is_owner and await repository.owner_count(session, scope, org_id) <= 1:
        return LAST_OWNER
    await _audit(session, scope, org_id, "staff.removed", staffer, role=staffer.role)
    await repository.delete_staffer(session, staffer)
    return staffer


async def invite(
    session: AsyncSession, scope: Scope, org_id: int, email: str, role: StaffRole, public_url: str
) -> str | StaffError:
    """Make ``email`` staff of the org (creating the user) and return the one-time link.

    The link sets a password only for an account it created; for an existing account it is
    accepted without touching it (the inviting owner holds the link, not the address).
    """
    if not can_manage_staff(scope.subject, org_id):
        return StaffError(("input", "org"), StaffErrorCode.NOT_FOUND, "No such org")
    created = await create_user(session, email.strip(), org_id, role)
    assert created.user.id is not None
    staffer = await repository.staffer_for_update(session, scope, org_id, created.user.id)
    assert staffer is not None
    await _audit(session, scope, org_id, "staff.invited", staffer, role=role.value)
    # only an account this invitation created may get its password from the link
    purpose = LinkPurpose.INVITATION if created.password is not None else LinkPurpose.JOIN
    # the invitee gets the link by mail; the inviting owner too, for an instance without mail
    await plan_staff_mail(
        await session.connection(),
        event=DeliveryEvent.INVITATION_MAIL,
        org_id=org_id,
        user_id=created.user.id,
        subject=f"u{created.user.id}:o{org_id}:{int(utcnow().timestamp())}",
        details={"role": role.value, "purpose": purpose.value},
    )
    return await create_link(session, public_url, created.user.id, purpose)
