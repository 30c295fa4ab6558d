from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from hub.settings import Settings
from orgs.identity.access import (
    ACCESS_TOKEN_TTL_SECONDS,
    JwtKeys,
    issue_access_token,
    verify_access_token,
)
from orgs.identity.service import authenticate
from orgs.models import Staffer, StaffRole
from permissions.roles import Permission
from resolvers.context import jwt_keys_for
from tests.conftest import GraphQLClient
from tests.factories import make_org, make_staffer, make_user

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) {
    __typename
    ... on LoginSuccess { tokens { accessToken expiresIn refreshToken } }
    ... on LoginErrors { errors { field code message } }
  }
}
"""

ME = """
query Me($org: String!) {
  currentUser { email orgs { name } }
  org(name: $org) { name }
}
"""

PASSWORD = "correct horse battery"
OLD = "old:" + "a" * 40
NEW = "new:" + "b" * 40


async def _login(gql: GraphQLClient, email: str, password: str) -> dict[str, Any]:
    result = await gql(LOGIN, {"input": {"email": email, "password": password}})
    assert "errors" not in result, result
    login: dict[str, Any] = result["data"]["login"]
    return login


class TestLogin:
    async def test_correct_password_gives_a_working_access_token(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given
        org = await make_org(session)
        user = await make_user(session)
        await make_staffer(session, org, user, StaffRole.VIEWER)
        # when
        login = await _login(gql, user.email.upper(), PASSWORD)
        result = await gql(ME, {"org": org.name}, token=login["tokens"]["accessToken"])
        # then
        assert login["__typename"] == "LoginSuccess"
        assert login["tokens"]["expiresIn"] == ACCESS_TOKEN_TTL_SECONDS
        assert result == {
            "data": {
                "currentUser": {"email": user.email, "orgs": [{"name": org.name}]},
                "org": {"name": org.name},
            }
        }

    @pytest.mark.parametrize("known_email", [True, False])
    async def test_wrong_credentials_give_the_same_error(
        self, session: AsyncSession, gql: GraphQLClient, known_email: bool
    ) -> None:
        # given
        user = await make_user(session)
        email = user.email if known_email else "nobody@example.org"
        # when
        login = await _login(gql, email, "wrong password")
        # then
        assert login == {
            "__typename": "LoginErrors",
            "errors": [
                {
                    "field": ["input"],
                    "code": "INVALID_CREDENTIALS",
                    "message": "Wrong email or password",
                }
            ],
        }


class TestAccessToken:
    async def test_claims_carry_only_the_user_id_jti_and_expiry(self) -> None:
        # given
        keys = JwtKeys.parse(NEW, "unused")
        # when
        token = issue_access_token(keys, 42)
        # then
        header, payload, _ = token.token.split(".")
        header_json = json.loads(base64.urlsafe_b64decode(header + "=="))
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        assert header_json["kid"] == "new"
        assert set(claims) == {"iss", "sub", "jti", "iat", "exp"}
        assert claims["sub"] == "42"
        assert claims["jti"] == token.jti

    def test_rotation_accepts_old_kid_and_signs_with_newest(self) -> None:
        # given a token signed before the rotation
        before = JwtKeys.parse(OLD, "unused")
        old_token = issue_access_token(before, 7).token
        # when a new key is added after the old one
        after = JwtKeys.parse(f"{OLD},{NEW}", "unused")
        new_token = issue_access_token(after, 7).token
        # then both verify; the old key alone does not verify the new token
        assert verify_access_token(after, old_token) == 7
        assert verify_access_token(after, new_token) == 7
        assert verify_access_token(before, new_token) is None

    def test_expired_tampered_and_unknown_kid_are_rejected(self) -> None:
        # given
        keys = JwtKeys.parse(NEW, "unused")
        expired = issue_access_token(keys, 1, now=time.time() - ACCESS_TOKEN_TTL_SECONDS - 1)
        valid = issue_access_token(keys, 1).token
        head, payload, signature = valid.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        forged = json.dumps({**claims, "sub": "2"}).encode()
        forged_payload = base64.urlsafe_b64encode(forged).decode().rstrip("=")
        tampered = f"{head}.{forged_payload}.{signature}"
        other = issue_access_token(JwtKeys.parse("zzz:" + "c" * 40, "unused"), 1).token
        # then
        assert verify_access_token(keys, expired.token) is None
        assert verify_access_token(keys, tampered) is None
        assert verify_access_token(keys, other) is None
        assert verify_access_token(keys, "not-a-jwt") is None

    def test_short_or_malformed_configured_keys_are_refused(self) -> None:
        with pytest.raises(ValueError, match="kid:secret"):
            JwtKeys.parse("k1:short", "unused")


class TestBearerJwt:
    @pytest.mark.parametrize("kind", ["expired", "tampered", "unknown_kid", "garbage"])
    async def test_bad_tokens_are_unauthenticated(
        self, session: AsyncSession, gql: GraphQLClient, settings: Settings, kind: str
    ) -> None:
        # given
        org = await make_org(session)
        user = await make_user(session)
        await make_staffer(session, org, user, StaffRole.OWNER)
        assert user.id is not None
        keys = jwt_keys_for(settings)
        token = {
            "expired": lambda: (
                issue_access_token(
                    keys, user.id, now=time.time() - ACCESS_TOKEN_TTL_SECONDS - 1
                ).token
            ),
            "tampered": lambda: issue_access_token(keys, user.id).token[:-3] + "abc",
            "unknown_kid": lambda: (
                issue_access_token(JwtKeys.parse("other:" + "d" * 40, "unused"), user.id).token
            ),
            "garbage": lambda: "eyJhbGciOiJub25lIn0.e30.",
        }[kind]()
        # when
        result = await gql(ME, {"org": org.name}, token=token)
        # then
        assert result["data"] is None or result["data"].get("org") is None
        assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    async def test_removed_staff_loses_access_on_the_next_request(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given a logged-in owner who can see the org
        org = await make_org(session)
        user = await make_user(session)
        staffer = await make_staffer(session, org, user, StaffRole.OWNER)
        token = (await _login(gql, user.email, PASSWORD))["tokens"]["accessToken"]
        assert (await gql(ME, {"org": org.name}, token=token))["data"]["org"] == {"name": org.name}
        # when the user is removed from the org
        await session.delete(await session.get(Staffer, staffer.id))
        result = await gql(ME, {"org": org.name}, token=token)
        # then the same token no longer reaches the org
        assert result["data"] == {"currentUser": {"email": user.email, "orgs": []}, "org": None}

    async def test_grants_come_from_the_staffer_table(
        self, session: AsyncSession, settings: Settings
    ) -> None:
        # given
        org = await make_org(session)
        user = await make_user(session)
        await make_staffer(session, org, user, StaffRole.VIEWER)
        assert user.id is not None
        assert org.id is not None
        token = issue_access_token(jwt_keys_for(settings), user.id).token
        # when
        subject = await authenticate(session, f"Bearer {token}", jwt_keys_for(settings))
        # then
        assert subject is not None
        assert subject.user_id == user.id
        assert subject.permissions_in(org.id) == Permission.VIEW_STATS
