from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.settings import Settings
from orgs.identity.access import issue_access_token
from orgs.models import AuditEvent, Org, Staffer, StaffRole, User
from resolvers.context import jwt_keys_for
from tests.conftest import GraphQLClient
from tests.factories import make_org, make_staffer, make_token, make_user

STAFF = "query Staff($org: String!) { staff(org: $org) { userId email role } }"

CHANGE = """
mutation Change($input: ChangeStaffRoleInput!) {
  changeStaffRole(input: $input) {
    __typename
    ... on ChangeStaffRoleSuccess { userId role }
    ... on ChangeStaffRoleErrors { errors { field code message } }
  }
}
"""

REMOVE = """
mutation Remove($input: RemoveStaffInput!) {
  removeStaff(input: $input) {
    __typename
    ... on RemoveStaffSuccess { userId }
    ... on RemoveStaffErrors { errors { field code message } }
  }
}
"""

NOT_FOUND = [{"field": ["input", "userId"], "code": "NOT_FOUND", "message": "No such staff member"}]
LAST_OWNER = [
    {
        "field": ["input", "userId"],
        "code": "LAST_OWNER",
        "message": "An org must keep at least one owner",
    }
]


def _bearer(settings: Settings, user: User) -> str:
    assert user.id is not None
    return issue_access_token(jwt_keys_for(settings), user.id).token


async def _member(session: AsyncSession, org: Org, role: StaffRole) -> User:
    user = await make_user(session)
    await make_staffer(session, org, user, role)
    return user


async def _roles(session: AsyncSession, org: Org) -> dict[int, str]:
    rows = await session.execute(
        select(col(Staffer.user_id), col(Staffer.role)).where(col(Staffer.org_id) == org.id)
    )
    return dict(rows.all())  # type: ignore[arg-type]


async def _audit(session: AsyncSession, org: Org) -> list[tuple[str, int | None, dict[str, Any]]]:
    rows = await session.execute(
        select(AuditEvent).where(col(AuditEvent.org_id) == org.id).order_by(col(AuditEvent.id))
    )
    return [(e.action, e.actor_user_id, e.details) for e in rows.scalars()]


class TestStaff:
    async def test_owner_lists_staff(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings
    ) -> None:
        # given
        org = await make_org(session)
        owner = await _member(session, org, StaffRole.OWNER)
        # when
        result = await gql(STAFF, {"org": org.name}, token=_bearer(settings, owner))
        # then
        assert result == {
            "data": {"staff": [{"userId": owner.id, "email": owner.email, "role": "OWNER"}]}
        }

    @pytest.mark.parametrize("role", [r for r in StaffRole if r is not StaffRole.OWNER])
    async def test_other_roles_and_other_orgs_see_nothing(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings, role: StaffRole
    ) -> None:
        # given
        org = await make_org(session)
        await _member(session, org, StaffRole.OWNER)
        member = await _member(session, org, role)
        outsider = await _member(session, await make_org(session), StaffRole.OWNER)
        # then
        for user in (member, outsider):
            result = await gql(STAFF, {"org": org.name}, token=_bearer(settings, user))
            assert result == {"data": {"staff": []}}

    async def test_token_without_staff_scope_is_forbidden(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        org = await make_org(session)
        _, token = await make_token(session, org, ["stats:read"])
        # when
        result = await gql(STAFF, {"org": org.name}, token=token)
        # then
        assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    async def test_anonymous_is_unauthenticated(self, gql: GraphQLClient) -> None:
        result = await gql(STAFF, {"org": "any"})
        assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


class TestChangeStaffRole:
    @pytest.mark.parametrize("role", list(StaffRole))
    async def test_role_matrix(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings, role: StaffRole
    ) -> None:
        # given an org with two owners, a viewer, and the caller in ``role``
        org = await make_org(session)
        await _member(session, org, StaffRole.OWNER)
        caller = await _member(session, org, role)
        target = await _member(session, org, StaffRole.VIEWER)
        before = await _roles(session, org)
        # when
        variables = {"input": {"org": org.name, "userId": target.id, "role": "DATA_MANAGER"}}
        result = await gql(CHANGE, variables, token=_bearer(settings, caller))
        # then only owners succeed; a denial changes nothing and writes no audit row
        change = result["data"]["changeStaffRole"]
        if role is StaffRole.OWNER:
            assert change == {
                "__typename": "ChangeStaffRoleSuccess",
                "userId": target.id,
                "role": "DATA_MANAGER",
            }
            assert (await _roles(session, org))[target.id] == "data_manager"  # type: ignore[index]
            assert await _audit(session, org) == [
                ("staff.role_changed", caller.id, {"old": "viewer", "new": "data_manager"})
            ]
        else:
            assert change == {"__typename": "ChangeStaffRoleErrors", "errors": NOT_FOUND}
            assert await _roles(session, org) == before
            assert await _audit(session, org) == []

    async def test_last_owner_cannot_be_demoted(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings
    ) -> None:
        # given
        org = await make_org(session)
        owner = await _member(session, org, StaffRole.OWNER)
        # when
        variables = {"input": {"org": org.name, "userId": owner.id, "role": "VIEWER"}}
        result = await gql(CHANGE, variables, token=_bearer(settings, owner))
        # then
        assert result["data"]["changeStaffRole"]["errors"] == LAST_OWNER
        assert await _roles(session, org) == {owner.id: "owner"}

    async def test_other_orgs_staff_looks_not_found(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings
    ) -> None:
        # given an owner of org A and a viewer of org B
        a = await make_org(session)
        owner = await _member(session, a, StaffRole.OWNER)
        b = await make_org(session)
        victim = await _member(session, b, StaffRole.VIEWER)
        # when
        for org in (a, b):
            variables = {"input": {"org": org.name, "userId": victim.id, "role": "OWNER"}}
            result = await gql(CHANGE, variables, token=_bearer(settings, owner))
            # then
            assert result["data"]["changeStaffRole"]["errors"] == NOT_FOUND
        assert await _roles(session, b) == {victim.id: "viewer"}


class TestRemoveStaff:
    @pytest.mark.parametrize("role", list(StaffRole))
    async def test_role_matrix(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings, role: StaffRole
    ) -> None:
        # given
        org = await make_org(session)
        await _member(session, org, StaffRole.OWNER)
        caller = await _member(session, org, role)
        target = await _member(session, org, StaffRole.CAMPAIGN_MANAGER)
        before = await _roles(session, org)
        # when
        variables = {"input": {"org": org.name, "userId": target.id}}
        result = await gql(REMOVE, variables, token=_bearer(settings, caller))
        # then
        removed = result["data"]["removeStaff"]
        if role is StaffRole.OWNER:
            assert removed == {"__typename": "RemoveStaffSuccess", "userId": target.id}
            assert target.id not in await _roles(session, org)
            assert await _audit(session, org) == [
                ("staff.removed", caller.id, {"role": "campaign_manager"})
            ]
        else:
            assert removed == {"__typename": "RemoveStaffErrors", "errors": NOT_FOUND}
            assert await _roles(session, org) == before
            assert await _audit(session, org) == []

    async def test_last_owner_cannot_be_removed(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings
    ) -> None:
        # given
        org = await make_org(session)
        owner = await _member(session, org, StaffRole.OWNER)
        # when
        variables = {"input": {"org": org.name, "userId": owner.id}}
        result = await gql(REMOVE, variables, token=_bearer(settings, owner))
        # then
        assert result["data"]["removeStaff"]["errors"] == LAST_OWNER
        assert await _roles(session, org) == {owner.id: "owner"}

    async def test_removed_user_loses_access_on_the_next_request(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings
    ) -> None:
        # given
        org = await make_org(session)
        owner = await _member(session, org, StaffRole.OWNER)
        other = await _member(session, org, StaffRole.OWNER)
        token = _bearer(settings, other)
        assert (await gql(STAFF, {"org": org.name}, token=token))["data"]["staff"] != []
        # when
        variables = {"input": {"org": org.name, "userId": other.id}}
        await gql(REMOVE, variables, token=_bearer(settings, owner))
        # then
        assert await gql(STAFF, {"org": org.name}, token=token) == {"data": {"staff": []}}
