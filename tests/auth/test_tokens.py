from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.settings import Settings
from orgs.identity.access import issue_access_token
from orgs.models import ApiToken, AuditEvent, Org, StaffRole, User, utcnow
from resolvers.context import jwt_keys_for
from tests.conftest import GraphQLClient
from tests.factories import make_org, make_staffer, make_token, make_user

TOKENS = "query T($org: String!) { apiTokens(org: $org) { id name prefix scopes revokedAt } }"

CREATE = """
mutation Create($input: CreateApiTokenInput!) {
  createApiToken(input: $input) {
    __typename
    ... on CreateApiTokenSuccess { plaintext token { id name scopes prefix } }
    ... on CreateApiTokenErrors { errors { field code message } }
  }
}
"""

REVOKE = """
mutation Revoke($input: RevokeApiTokenInput!) {
  revokeApiToken(input: $input) {
    __typename
    ... on RevokeApiTokenSuccess { token { id } }
    ... on RevokeApiTokenErrors { errors { field code message } }
  }
}
"""

ORG = "query O($name: String!) { org(name: $name) { name } }"


def _bearer(settings: Settings, user: User) -> str:
    assert user.id is not None
    return issue_access_token(jwt_keys_for(settings), user.id).token


async def _member(session: AsyncSession, org: Org, role: StaffRole) -> User:
    user = await make_user(session)
    await make_staffer(session, org, user, role)
    return user


async def _tokens(session: AsyncSession, org: Org) -> list[tuple[str, Any]]:
    rows = await session.execute(
        select(ApiToken).where(col(ApiToken.org_id) == org.id).order_by(col(ApiToken.id))
    )
    return [(t.name, t.revoked_at) for t in rows.scalars()]


async def _audit(session: AsyncSession, org: Org) -> list[str]:
    rows = await session.execute(
        select(col(AuditEvent.action)).where(col(AuditEvent.org_id) == org.id)
    )
    return list(rows.scalars())


MAY_MANAGE_TOKENS = {StaffRole.OWNER, StaffRole.INTEGRATOR}


class TestCreateApiToken:
    @pytest.mark.parametrize("role", list(StaffRole))
    async def test_role_matrix(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings, role: StaffRole
    ) -> None:
        # given
        org = await make_org(session)
        caller = await _member(session, org, role)
        # when
        variables = {"input": {"org": org.name, "name": "crm", "scopes": ["stats:read"]}}
        result = await gql(CREATE, variables, token=_bearer(settings, caller))
        # then
        created = result["data"]["createApiToken"]
        if role in MAY_MANAGE_TOKENS:
            assert created["__typename"] == "CreateApiTokenSuccess"
            assert created["token"]["scopes"] == ["stats:read"]
            assert created["plaintext"].startswith("chub_at_")
            assert await _tokens(session, org) == [("crm", None)]
            assert await _audit(session, org) == ["api_token.created"]
            # the plaintext works once created
            answer = await gql(ORG, {"name": org.name}, token=created["plaintext"])
            assert answer == {"data": {"org": {"name": org.name}}}
        else:
            assert created["errors"][0]["code"] == "NOT_FOUND"
            assert await _tokens(session, org) == []
            assert await _audit(session, org) == []

    async def test_integrator_cannot_grant_beyond_own_rights(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings
    ) -> None:
        # given
        org = await make_org(session)
        caller = await _member(session, org, StaffRole.INTEGRATOR)
        # when
        variables = {"input": {"org": org.name, "name": "x", "scopes": ["contacts:export"]}}
        result = await gql(CREATE, variables, token=_bearer(settings, caller))
        # then
        assert result["data"]["createApiToken"]["errors"] == [
            {
                "field": ["input", "scopes"],
                "code": "SCOPE_NOT_ALLOWED",
                "message": "You cannot grant scope(s) beyond your own rights: contacts:export",
            }
        ]
        assert await _tokens(session, org) == []

    async def test_unknown_scope_and_past_expiry_are_errors(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings
    ) -> None:
        # given
        org = await make_org(session)
        token = _bearer(settings, await _member(session, org, StaffRole.OWNER))
        past = (utcnow() - timedelta(days=1)).isoformat()
        # when
        bad_scope = await gql(
            CREATE, {"input": {"org": org.name, "name": "x", "scopes": ["nope"]}}, token=token
        )
        bad_expiry = await gql(
            CREATE,
            {"input": {"org": org.name, "name": "x", "scopes": [], "expiresAt": past}},
            token=token,
        )
        # then
        assert bad_scope["data"]["createApiToken"]["errors"][0]["code"] == "UNKNOWN_SCOPE"
        assert bad_expiry["data"]["createApiToken"]["errors"][0]["code"] == "EXPIRES_IN_PAST"
        assert await _tokens(session, org) == []

    async def test_token_without_tokens_scope_is_forbidden(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        org = await make_org(session)
        _, plaintext = await make_token(session, org, ["stats:read"])
        # when
        variables = {"input": {"org": org.name, "name": "x", "scopes": ["stats:read"]}}
        result = await gql(CREATE, variables, token=plaintext)
        # then
        assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert await _tokens(session, org) == [("test token", None)]


class TestApiTokens:
    async def test_list_never_shows_the_secret(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings
    ) -> None:
        # given
        org = await make_org(session)
        row, plaintext = await make_token(session, org, ["stats:read"])
        owner = await _member(session, org, StaffRole.OWNER)
        # when
        result = await gql(TOKENS, {"org": org.name}, token=_bearer(settings, owner))
        # then
        assert result["data"]["apiTokens"] == [
            {
                "id": row.id,
                "name": "test token",
                "prefix": row.prefix,
                "scopes": ["stats:read"],
                "revokedAt": None,
            }
        ]
        assert plaintext.split("_")[-1] not in str(result)

    async def test_viewer_sees_nothing(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings
    ) -> None:
        org = await make_org(session)
        await make_token(session, org, ["stats:read"])
        viewer = await _member(session, org, StaffRole.VIEWER)
        result = await gql(TOKENS, {"org": org.name}, token=_bearer(settings, viewer))
        assert result == {"data": {"apiTokens": []}}


class TestRevokeApiToken:
    @pytest.mark.parametrize("role", list(StaffRole))
    async def test_role_matrix(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings, role: StaffRole
    ) -> None:
        # given
        org = await make_org(session)
        row, plaintext = await make_token(session, org, ["stats:read"])
        caller = await _member(session, org, role)
        # when
        variables = {"input": {"org": org.name, "id": row.id}}
        result = await gql(REVOKE, variables, token=_bearer(settings, caller))
        # then
        revoked = result["data"]["revokeApiToken"]
        answer = await gql(ORG, {"name": org.name}, token=plaintext)
        if role in MAY_MANAGE_TOKENS:
            assert revoked == {"__typename": "RevokeApiTokenSuccess", "token": {"id": row.id}}
            assert await _audit(session, org) == ["api_token.revoked"]
            assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        else:
            assert revoked["errors"][0]["code"] == "NOT_FOUND"
            assert await _audit(session, org) == []
            assert answer == {"data": {"org": {"name": org.name}}}

    async def test_other_orgs_token_looks_not_found(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings
    ) -> None:
        # given
        mine = await make_org(session)
        owner = await _member(session, mine, StaffRole.OWNER)
        theirs = await make_org(session)
        row, _ = await make_token(session, theirs, ["stats:read"])
        # when
        for org in (mine, theirs):
            variables = {"input": {"org": org.name, "id": row.id}}
            result = await gql(REVOKE, variables, token=_bearer(settings, owner))
            # then
            assert result["data"]["revokeApiToken"]["errors"][0]["code"] == "NOT_FOUND"
        assert await _tokens(session, theirs) == [("test token", None)]
