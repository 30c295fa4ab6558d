from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from orgs.models import RefreshToken, utcnow
from tests.conftest import GraphQLClient
from tests.factories import make_org, make_staffer, make_user

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) {
    __typename
    ... on LoginSuccess { tokens { accessToken refreshToken } }
  }
}
"""

REFRESH = """
mutation Refresh($input: RefreshTokenInput!) {
  refreshToken(input: $input) {
    __typename
    ... on RefreshTokenSuccess { tokens { accessToken refreshToken expiresIn } }
    ... on RefreshTokenErrors { errors { field code message } }
  }
}
"""

LOGOUT = """
mutation Logout($input: LogoutInput!) { logout(input: $input) { ok } }
"""

ME = "query { currentUser { email } }"

INVALID = {
    "__typename": "RefreshTokenErrors",
    "errors": [
        {
            "field": ["input", "refreshToken"],
            "code": "INVALID_REFRESH_TOKEN",
            "message": "Invalid, expired or revoked refresh token; log in again",
        }
    ],
}


async def _session_tokens(session: AsyncSession, gql: GraphQLClient) -> dict[str, str]:
    org = await make_org(session)
    user = await make_user(session)
    await make_staffer(session, org, user)
    result = await gql(LOGIN, {"input": {"email": user.email, "password": "correct horse battery"}})
    tokens: dict[str, str] = result["data"]["login"]["tokens"]
    return tokens


async def _refresh(gql: GraphQLClient, token: str) -> dict[str, Any]:
    result = await gql(REFRESH, {"input": {"refreshToken": token}})
    assert "errors" not in result, result
    refreshed: dict[str, Any] = result["data"]["refreshToken"]
    return refreshed


class TestRefreshToken:
    async def test_rotation_gives_a_new_working_pair(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        tokens = await _session_tokens(session, gql)
        # when
        refreshed = await _refresh(gql, tokens["refreshToken"])
        # then
        assert refreshed["__typename"] == "RefreshTokenSuccess"
        new = refreshed["tokens"]
        assert new["refreshToken"] != tokens["refreshToken"]
        me = await gql(ME, token=new["accessToken"])
        assert me["data"]["currentUser"] is not None

    async def test_stored_only_hashed(self, session: AsyncSession, gql: GraphQLClient) -> None:
        # given
        tokens = await _session_tokens(session, gql)
        # when
        hashes = (await session.execute(select(col(RefreshToken.token_hash)))).scalars().all()
        # then
        assert tokens["refreshToken"] not in hashes
        assert all(len(h) == 64 for h in hashes)

    async def test_reuse_revokes_the_whole_family(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given a token rotated once
        tokens = await _session_tokens(session, gql)
        second = (await _refresh(gql, tokens["refreshToken"]))["tokens"]["refreshToken"]
        # when the first token is replayed
        replay = await _refresh(gql, tokens["refreshToken"])
        # then the replay fails and the legitimate successor is revoked too
        assert replay == INVALID
        assert await _refresh(gql, second) == INVALID

    async def test_expired_and_unknown_tokens_are_refused(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        tokens = await _session_tokens(session, gql)
        rows = (await session.execute(select(RefreshToken))).scalars().all()
        for row in rows:
            row.expires_at = utcnow() - timedelta(seconds=1)
        # then
        assert await _refresh(gql, tokens["refreshToken"]) == INVALID
        assert await _refresh(gql, "chub_rt_unknown") == INVALID


class TestLogout:
    async def test_logout_revokes_the_refresh_token(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        tokens = await _session_tokens(session, gql)
        # when
        result = await gql(LOGOUT, {"input": {"refreshToken": tokens["refreshToken"]}})
        # then
        assert result == {"data": {"logout": {"ok": True}}}
        assert await _refresh(gql, tokens["refreshToken"]) == INVALID

    async def test_unknown_token_gets_the_same_answer(self, gql: GraphQLClient) -> None:
        result = await gql(LOGOUT, {"input": {"refreshToken": "chub_rt_nope"}})
        assert result == {"data": {"logout": {"ok": True}}}
