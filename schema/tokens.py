"""Org API tokens (owners and integrators, MANAGE_TOKENS): list, create, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from orgs.models import ApiToken as TokenRow
from orgs.tokens.service import TokenError as ServiceError
from orgs.tokens.service import TokenErrorCode
from resolvers import tokens as resolvers
from resolvers.context import Context
from schema.permissions import require_scope

ApiTokenErrorCode = strawberry.enum(TokenErrorCode, name="ApiTokenErrorCode")


@strawberry.type
class ApiTokenError:
    field: list[str]
    code: ApiTokenErrorCode  # type: ignore[valid-type]
    message: str

    @classmethod
    def from_service(cls, error: ServiceError) -> ApiTokenError:
        return cls(field=list(error.field), code=error.code, message=error.message)


@strawberry.type
class ApiToken:
    id: int
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: TokenRow) -> ApiToken:
        assert row.id is not None
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            scopes=list(row.scopes),
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
            created_at=row.created_at,
        )


@strawberry.type
class CreateApiTokenSuccess:
    token: ApiToken
    plaintext: str = strawberry.field(description="Shown once; only a hash is stored.")


@strawberry.type
class CreateApiTokenErrors:
    errors: list[ApiTokenError]


CreateApiTokenResult = Annotated[
    CreateApiTokenSuccess | CreateApiTokenErrors, strawberry.union("CreateApiTokenResult")
]


@strawberry.type
class RevokeApiTokenSuccess:
    token: ApiToken


@strawberry.type
class RevokeApiTokenErrors:
    errors: list[ApiTokenError]


RevokeApiTokenResult = Annotated[
    RevokeApiTokenSuccess | RevokeApiTokenErrors, strawberry.union("RevokeApiTokenResult")
]


@strawberry.input
class CreateApiTokenInput:
    org: str
    name: str
    scopes: list[str]
    expires_at: datetime | None = None


@strawberry.input
class RevokeApiTokenInput:
    org: str
    id: int


@strawberry.type
class TokenQuery:
    @strawberry.field(
        description="API tokens of an org you manage tokens for (never the secret).",
        permission_classes=[require_scope("tokens:write")],
    )
    async def api_tokens(self, info: Info[Context, None], org: str) -> list[ApiToken]:
        return [ApiToken.from_row(row) for row in await resolvers.api_tokens(info.context, org)]


@strawberry.type
class TokenMutation:
    @strawberry.mutation(
        description="Create an API token with scopes within your own rights.",
        permission_classes=[require_scope("tokens:write")],
    )
    async def create_api_token(
        self, info: Info[Context, None], input: CreateApiTokenInput
    ) -> CreateApiTokenResult:
        result = await resolvers.create_api_token(
            info.context, input.org, input.name, input.scopes, input.expires_at
        )
        if isinstance(result, ServiceError):
            return CreateApiTokenErrors(errors=[ApiTokenError.from_service(result)])
        return CreateApiTokenSuccess(
            token=ApiToken.from_row(result.token), plaintext=result.plaintext
        )

    @strawberry.mutation(
        description="Revoke an API token at once.",
        permission_classes=[require_scope("tokens:write")],
    )
    async def revoke_api_token(
        self, info: Info[Context, None], input: RevokeApiTokenInput
    ) -> RevokeApiTokenResult:
        result = await resolvers.revoke_api_token(info.context, input.org, input.id)
        if isinstance(result, ServiceError):
            return RevokeApiTokenErrors(errors=[ApiTokenError.from_service(result)])
        return RevokeApiTokenSuccess(token=ApiToken.from_row(result))
