"""User authentication: login with email and password, returning a short-lived access JWT."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import auth as resolvers
from resolvers.context import Context


@strawberry.enum
class LoginErrorCode(Enum):
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"


@strawberry.type
class LoginError:
    field: list[str]
    code: LoginErrorCode
    message: str


@strawberry.type
class LoginSuccess:
    access_token: str = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    expires_in: int = strawberry.field(description="Seconds the access token stays valid.")


@strawberry.type
class LoginErrors:
    errors: list[LoginError]


LoginResult = Annotated[LoginSuccess | LoginErrors, strawberry.union("LoginResult")]


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Log in with email and password (same error for both).")
    async def login(self, info: Info[Context, None], input: LoginInput) -> LoginResult:
        issued = await resolvers.login(info.context, input.email, input.password)
        if issued is None:
            return LoginErrors(
                errors=[
                    LoginError(
                        field=["input"],
                        code=LoginErrorCode.INVALID_CREDENTIALS,
                        message="Wrong email or password",
                    )
                ]
            )
        return LoginSuccess(access_token=issued.token, expires_in=issued.expires_in)
