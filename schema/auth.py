"""User sessions: login with email and password, refresh-token rotation, logout."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import strawberry
from strawberry.types import Info

from orgs.errors import Problem
from orgs.identity.links import MIN_PASSWORD_LENGTH, LinkPurpose
from orgs.identity.service import AuthErrorCode as ServiceAuthErrorCode
from orgs.identity.service import SessionTokens
from resolvers import auth as resolvers
from resolvers.context import Context
from schema.results import Operation, operation

AuthErrorCode = strawberry.enum(ServiceAuthErrorCode, name="AuthErrorCode")


@strawberry.type
class AuthError:
    field: list[str]
    code: AuthErrorCode  # type: ignore[valid-type]
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


ResetPassword = operation("ResetPassword", AuthError, ok=bool)
AcceptInvitation = operation("AcceptInvitation", AuthError, ok=bool)
if TYPE_CHECKING:  # generated at run time (schema/results.py); opaque to mypy
    ResetPasswordResult: TypeAlias = Any
    AcceptInvitationResult: TypeAlias = Any
else:
    ResetPasswordResult = ResetPassword.result
    AcceptInvitationResult = AcceptInvitation.result


@strawberry.input
class RequestPasswordResetInput:
    email: str


@strawberry.input
class SetPasswordInput:
    token: str
    password: str


@strawberry.input
class ResetPasswordInput(SetPasswordInput):
    pass


@strawberry.input
class AcceptInvitationInput(SetPasswordInput):
    pass


async def _set_password(
    info: Info[Context, None], input: SetPasswordInput, purpose: LinkPurpose, op: Operation
) -> Any:
    if len(input.password) < MIN_PASSWORD_LENGTH:
        return op.failed(
            [
                Problem(
                    ("input", "password"),
                    ServiceAuthErrorCode.PASSWORD_TOO_SHORT,
                    f"Use at least {MIN_PASSWORD_LENGTH} characters",
                )
            ]
        )
    if not await resolvers.use_link(info.context, input.token, purpose, input.password):
        return op.failed(
            [
                Problem(
                    ("input", "token"),
                    ServiceAuthErrorCode.INVALID_LINK,
                    "This link is invalid, expired or already used",
                )
            ]
        )
    return op.success(ok=True)


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
        self, info: Info[Context, None], input: ResetPasswordInput
    ) -> ResetPasswordResult:
        return await _set_password(info, input, LinkPurpose.RESET_PASSWORD, ResetPassword)

    @strawberry.mutation(description="Accept a staff invitation by choosing a password.")
    async def accept_invitation(
        self, info: Info[Context, None], input: AcceptInvitationInput
    ) -> AcceptInvitationResult:
        return await _set_password(info, input, LinkPurpose.INVITATION, AcceptInvitation)

    @strawberry.mutation(description="End the session the refresh token belongs to.")
    async def logout(self, info: Info[Context, None], input: LogoutInput) -> LogoutSuccess:
        await resolvers.logout(info.context, input.refresh_token)
        return LogoutSuccess(ok=True)
