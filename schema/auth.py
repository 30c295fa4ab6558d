"""User sessions: login with email and password, refresh-token rotation, logout."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from orgs.identity.links import MIN_PASSWORD_LENGTH, LinkPurpose
from orgs.identity.service import SessionTokens
from resolvers import auth as resolvers
from resolvers.context import Context


@strawberry.enum
class AuthErrorCode(Enum):
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    INVALID_REFRESH_TOKEN = "INVALID_REFRESH_TOKEN"
    INVALID_LINK = "INVALID_LINK"
    PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT"


@strawberry.type
class AuthError:
    field: list[str]
    code: AuthErrorCode
    message: str


@strawberry.type
class SessionTokenPair:
    access_token: str = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    expires_in: int = strawberry.field(description="Seconds the access token stays valid.")
    refresh_token: str = strawberry.field(
        description="Opaque, single use: exchange it with refreshToken for a new pair."
    )

    @classmethod
    def from_tokens(cls, tokens: SessionTokens) -> SessionTokenPair:
        return cls(
            access_token=tokens.access.token,
            expires_in=tokens.access.expires_in,
            refresh_token=tokens.refresh_token,
        )


@strawberry.type
class LoginSuccess:
    tokens: SessionTokenPair


@strawberry.type
class LoginErrors:
    errors: list[AuthError]


LoginResult = Annotated[LoginSuccess | LoginErrors, strawberry.union("LoginResult")]


@strawberry.type
class RefreshTokenSuccess:
    tokens: SessionTokenPair


@strawberry.type
class RefreshTokenErrors:
    errors: list[AuthError]


RefreshTokenResult = Annotated[
    RefreshTokenSuccess | RefreshTokenErrors, strawberry.union("RefreshTokenResult")
]


@strawberry.type
class LogoutSuccess:
    ok: bool


@strawberry.type
class RequestPasswordResetSuccess:
    ok: bool


@strawberry.type
class SetPasswordSuccess:
    ok: bool


@strawberry.type
class SetPasswordErrors:
    errors: list[AuthError]


SetPasswordResult = Annotated[
    SetPasswordSuccess | SetPasswordErrors, strawberry.union("SetPasswordResult")
]


@strawberry.input
class RequestPasswordResetInput:
    email: str


@strawberry.input
class SetPasswordInput:
    token: str
    password: str


async def _set_password(
    info: Info[Context, None], input: SetPasswordInput, purpose: LinkPurpose
) -> SetPasswordSuccess | SetPasswordErrors:
    if len(input.password) < MIN_PASSWORD_LENGTH:
        error = AuthError(
            field=["input", "password"],
            code=AuthErrorCode.PASSWORD_TOO_SHORT,
            message=f"Use at least {MIN_PASSWORD_LENGTH} characters",
        )
        return SetPasswordErrors(errors=[error])
    if not await resolvers.use_link(info.context, input.token, purpose, input.password):
        error = AuthError(
            field=["input", "token"],
            code=AuthErrorCode.INVALID_LINK,
            message="This link is invalid, expired or already used",
        )
        return SetPasswordErrors(errors=[error])
    return SetPasswordSuccess(ok=True)


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.input
class RefreshTokenInput:
    refresh_token: str


@strawberry.input
class LogoutInput:
    refresh_token: str


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Log in with email and password (same error for both).")
    async def login(self, info: Info[Context, None], input: LoginInput) -> LoginResult:
        tokens = await resolvers.login(info.context, input.email, input.password)
        if tokens is None:
            error = AuthError(
                field=["input"],
                code=AuthErrorCode.INVALID_CREDENTIALS,
                message="Wrong email or password",
            )
            return LoginErrors(errors=[error])
        return LoginSuccess(tokens=SessionTokenPair.from_tokens(tokens))

    @strawberry.mutation(
        description="Exchange a refresh token for a new pair; reusing one revokes the session."
    )
    async def refresh_token(
        self, info: Info[Context, None], input: RefreshTokenInput
    ) -> RefreshTokenResult:
        tokens = await resolvers.refresh_token(info.context, input.refresh_token)
        if tokens is None:
            error = AuthError(
                field=["input", "refreshToken"],
                code=AuthErrorCode.INVALID_REFRESH_TOKEN,
                message="Invalid, expired or revoked refresh token; log in again",
            )
            return RefreshTokenErrors(errors=[error])
        return RefreshTokenSuccess(tokens=SessionTokenPair.from_tokens(tokens))

    @strawberry.mutation(description="Mail a reset link if the email is known (same answer).")
    async def request_password_reset(
        self, info: Info[Context, None], input: RequestPasswordResetInput
    ) -> RequestPasswordResetSuccess:
        await resolvers.request_password_reset(info.context, input.email)
        return RequestPasswordResetSuccess(ok=True)

    @strawberry.mutation(description="Set a new password with a one-time reset link token.")
    async def reset_password(
        self, info: Info[Context, None], input: SetPasswordInput
    ) -> SetPasswordResult:
        return await _set_password(info, input, LinkPurpose.RESET_PASSWORD)

    @strawberry.mutation(description="Accept a staff invitation by choosing a password.")
    async def accept_invitation(
        self, info: Info[Context, None], input: SetPasswordInput
    ) -> SetPasswordResult:
        return await _set_password(info, input, LinkPurpose.INVITATION)

    @strawberry.mutation(description="End the session the refresh token belongs to.")
    async def logout(self, info: Info[Context, None], input: LogoutInput) -> LogoutSuccess:
        await resolvers.logout(info.context, input.refresh_token)
        return LogoutSuccess(ok=True)
