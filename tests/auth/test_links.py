from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.settings import Settings
from orgs.identity.access import issue_access_token
from orgs.identity.links import LinkPurpose, create_link
from orgs.models import AuditEvent, OneTimeToken, Staffer, StaffRole, User, utcnow
from resolvers.context import jwt_keys_for
from tests.conftest import GraphQLClient
from tests.factories import make_org, make_staffer, make_user

REQUEST = "mutation R($email: String!) { requestPasswordReset(input: {email: $email}) { ok } }"

RESET = """
mutation Reset($input: ResetPasswordInput!) {
  resetPassword(input: $input) {
    __typename
    ... on ResetPasswordErrors { errors { field code message } }
  }
}
"""

ACCEPT = """
mutation Accept($input: AcceptInvitationInput!) {
  acceptInvitation(input: $input) {
    __typename
    ... on AcceptInvitationErrors { errors { field code message } }
  }
}
"""

INVITE = """
mutation Invite($input: InviteStaffInput!) {
  inviteStaff(input: $input) {
    __typename
    ... on InviteStaffSuccess { link }
    ... on InviteStaffErrors { errors { field code message } }
  }
}
"""

LOGIN = """
mutation L($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { __typename }
}
"""

INVALID_LINK = [
    {
        "field": ["input", "token"],
        "code": "INVALID_LINK",
        "message": "This link is invalid, expired or already used",
    }
]
NEW_PASSWORD = "a brand new passphrase"


def _token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def _bearer(settings: Settings, user: User) -> str:
    assert user.id is not None
    return issue_access_token(jwt_keys_for(settings), user.id).token


async def _can_login(gql: GraphQLClient, email: str, password: str) -> bool:
    result = await gql(LOGIN, {"email": email, "password": password})
    return bool(result["data"]["login"]["__typename"] == "LoginSuccess")


class TestPasswordReset:
    async def test_same_answer_whether_or_not_the_email_exists(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        user = await make_user(session)
        known = await gql(REQUEST, {"email": user.email})
        unknown = await gql(REQUEST, {"email": "nobody@example.org"})
        assert known == unknown == {"data": {"requestPasswordReset": {"ok": True}}}

    async def test_link_sets_the_password_once(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings
    ) -> None:
        # given
        user = await make_user(session)
        assert user.id is not None
        link = await create_link(session, settings.public_url, user.id, LinkPurpose.RESET_PASSWORD)
        assert link is not None
        variables = {"input": {"token": _token(link), "password": NEW_PASSWORD}}
        # when
        first = await gql(RESET, variables)
        second = await gql(RESET, variables)
        # then
        assert first == {"data": {"resetPassword": {"__typename": "ResetPasswordSuccess"}}}
        assert second["data"]["resetPassword"]["errors"] == INVALID_LINK
        assert await _can_login(gql, user.email, NEW_PASSWORD)
        hashes = (await session.execute(select(col(OneTimeToken.token_hash)))).scalars().all()
        assert _token(link) not in hashes

    async def test_expired_link_is_refused(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings
    ) -> None:
        # given
        user = await make_user(session)
        assert user.id is not None
        link = await create_link(session, settings.public_url, user.id, LinkPurpose.RESET_PASSWORD)
        assert link is not None
        for row in (await session.execute(select(OneTimeToken))).scalars():
            row.expires_at = utcnow()
        # when
        variables = {"input": {"token": _token(link), "password": NEW_PASSWORD}}
        result = await gql(RESET, variables)
        # then
        assert result["data"]["resetPassword"]["errors"] == INVALID_LINK
        assert not await _can_login(gql, user.email, NEW_PASSWORD)


class TestInviteStaff:
    @pytest.mark.parametrize("role", list(StaffRole))
    async def test_role_matrix_and_acceptance(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings, role: StaffRole
    ) -> None:
        # given
        org = await make_org(session)
        caller = await make_user(session)
        await make_staffer(session, org, caller, role)
        email = f"invitee-{role.value}@example.org"
        # when
        variables = {"input": {"org": org.name, "email": email, "role": "VIEWER"}}
        result = await gql(INVITE, variables, token=_bearer(settings, caller))
        # then
        invited = result["data"]["inviteStaff"]
        staff = (
            await session.execute(select(col(Staffer.user_id)).where(col(Staffer.org_id) == org.id))
        ).all()
        actions = (
            (
                await session.execute(
                    select(col(AuditEvent.action)).where(col(AuditEvent.org_id) == org.id)
                )
            )
            .scalars()
            .all()
        )
        if role is StaffRole.OWNER:
            assert invited["link"].startswith("http://hub.test/accept-invitation?token=")
            assert len(staff) == 2
            assert list(actions) == ["staff.invited"]
            accept = {"input": {"token": _token(invited["link"]), "password": NEW_PASSWORD}}
            accepted = await gql(ACCEPT, accept)
            assert accepted["data"]["acceptInvitation"]["__typename"] == "AcceptInvitationSuccess"
            assert await _can_login(gql, email, NEW_PASSWORD)
            # a reset endpoint does not accept an invitation token
            assert (await gql(RESET, accept))["data"]["resetPassword"]["errors"] == INVALID_LINK
        else:
            assert invited["errors"][0]["code"] == "NOT_FOUND"
            assert len(staff) == 1
            assert list(actions) == []

    async def test_an_existing_account_keeps_its_password(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings
    ) -> None:
        # given staff of another org, whose address an owner of this org invites
        org, elsewhere = await make_org(session), await make_org(session)
        caller = await make_user(session)
        await make_staffer(session, org, caller, StaffRole.OWNER)
        existing = await make_user(session, password="their own passphrase")
        await make_staffer(session, elsewhere, existing, StaffRole.OWNER)
        variables = {"input": {"org": org.name, "email": existing.email, "role": "OWNER"}}
        invited = (await gql(INVITE, variables, token=_bearer(settings, caller)))["data"]
        # when the inviter accepts the link itself
        accept = {
            "input": {"token": _token(invited["inviteStaff"]["link"]), "password": NEW_PASSWORD}
        }
        accepted = await gql(ACCEPT, accept)
        again = await gql(ACCEPT, accept)
        # then it looks accepted (once), but only the address's owner sets its password
        assert accepted["data"]["acceptInvitation"]["__typename"].endswith("Success")
        assert again["data"]["acceptInvitation"]["errors"][0]["code"] == "INVALID_LINK"
        assert not await _can_login(gql, existing.email, NEW_PASSWORD)
        assert await _can_login(gql, existing.email, "their own passphrase")
        reset = (await gql(RESET, accept))["data"]["resetPassword"]
        assert reset["errors"][0]["code"] == "INVALID_LINK"
