"""Single sign-on: an org's OpenID Connect provider (owners) and the login-code exchange."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import strawberry
from strawberry.types import Info

from orgs.errors import Problem
from orgs.identity import sso
from orgs.identity.service import AuthErrorCode
from resolvers import sso as resolvers
from resolvers.context import Context
from schema.auth import AuthError, SessionTokenPair
from schema.permissions import require_scope
from schema.results import operation

SsoErrorCode = strawberry.enum(sso.SsoErrorCode, name="SsoErrorCode")


@strawberry.type
class SsoError:
    field: list[str]
    code: SsoErrorCode  # type: ignore[valid-type]
    message: str

    @classmethod
    def from_service(cls, error: sso.SsoError) -> SsoError:
        return cls(field=list(error.field), code=error.code, message=error.message)


@strawberry.type(description="An org's OpenID Connect provider (the client secret is never shown).")
class SsoProvider:
    org: str
    issuer: str
    client_id: str
    allowed_domains: list[str]
    return_urls: list[str]

    @strawberry.field(description="Where staff start a login: add ?returnTo=<one of returnUrls>.")
    def login_url(self, info: Info[Context, None]) -> str:
        return f"{info.context.settings.public_url.rstrip('/')}/auth/sso/{self.org}/start"

    @strawberry.field(description="The redirect URI to register with the provider.")
    def callback_url(self, info: Info[Context, None]) -> str:
        return f"{info.context.settings.public_url.rstrip('/')}/auth/sso/{self.org}/callback"

    @classmethod
    def from_service(cls, org: str, provider: sso.SsoProvider) -> SsoProvider:
        return cls(
            org=org,
            issuer=provider.issuer,
            client_id=provider.client_id,
            allowed_domains=list(provider.allowed_domains),
            return_urls=list(provider.return_urls),
        )


@strawberry.type
class ConfigureSsoSuccess:
    provider: SsoProvider


@strawberry.type
class ConfigureSsoErrors:
    errors: list[SsoError]


ConfigureSsoResult = Annotated[
    ConfigureSsoSuccess | ConfigureSsoErrors, strawberry.union("ConfigureSsoResult")
]


@strawberry.type
class RemoveSsoSuccess:
    org: str


@strawberry.type
class RemoveSsoErrors:
    errors: list[SsoError]


RemoveSsoResult = Annotated[RemoveSsoSuccess | RemoveSsoErrors, strawberry.union("RemoveSsoResult")]


@strawberry.input
class ConfigureSsoInput:
    org: str
    issuer: str = strawberry.field(description="The provider's issuer URL (https).")
    client_id: str
    client_secret: str = strawberry.field(description="Stored encrypted; never returned.")
    allowed_domains: list[str] = strawberry.field(
        default_factory=list, description="Email domains that may log in; empty: any."
    )
    return_urls: list[str] = strawberry.field(
        default_factory=list, description="Exact URLs a login may return to with its code."
    )


@strawberry.input
class RemoveSsoInput:
    org: str


CompleteSsoLogin = operation("CompleteSsoLogin", AuthError, tokens=SessionTokenPair)
if TYPE_CHECKING:  # generated at run time (schema/results.py); opaque to mypy
    CompleteSsoLoginResult: TypeAlias = Any
else:
    CompleteSsoLoginResult = CompleteSsoLogin.result


@strawberry.input
class CompleteSsoLoginInput:
    code: str = strawberry.field(description="The login_code handed to the return URL.")


@strawberry.type
class SsoQuery:
    @strawberry.field(
        description="The org's single sign-on provider (owners); null when none or not yours.",
        permission_classes=[require_scope("staff:write")],
    )
    async def sso_provider(self, info: Info[Context, None], org: str) -> SsoProvider | None:
        provider = await resolvers.sso_provider(info.context, org)
        return SsoProvider.from_service(org, provider) if provider is not None else None


@strawberry.type
class SsoMutation:
    @strawberry.mutation(
        description="Set the org's OpenID Connect provider (checked by discovery first).",
        permission_classes=[require_scope("staff:write")],
    )
    async def configure_sso(
        self, info: Info[Context, None], input: ConfigureSsoInput
    ) -> ConfigureSsoResult:
        result = await resolvers.configure_sso(
            info.context,
            input.org,
            issuer=input.issuer,
            client_id=input.client_id,
            client_secret=input.client_secret,
            allowed_domains=input.allowed_domains,
            return_urls=input.return_urls,
        )
        if isinstance(result, sso.SsoError):
            return ConfigureSsoErrors(errors=[SsoError.from_service(result)])
        return ConfigureSsoSuccess(provider=SsoProvider.from_service(input.org, result))

    @strawberry.mutation(
        description="Turn single sign-on off for the org (password logins keep working).",
        permission_classes=[require_scope("staff:write")],
    )
    async def remove_sso(self, info: Info[Context, None], input: RemoveSsoInput) -> RemoveSsoResult:
        result = await resolvers.remove_sso(info.context, input.org)
        if isinstance(result, sso.SsoError):
            return RemoveSsoErrors(errors=[SsoError.from_service(result)])
        return RemoveSsoSuccess(org=input.org)

    @strawberry.mutation(description="Exchange a single sign-on login code for session tokens.")
    async def complete_sso_login(
        self, info: Info[Context, None], input: CompleteSsoLoginInput
    ) -> CompleteSsoLoginResult:
        tokens = await resolvers.complete_sso_login(info.context, input.code)
        if tokens is None:
            return CompleteSsoLogin.failed(
                [
                    Problem(
                        ("input", "code"),
                        AuthErrorCode.INVALID_LINK,
                        "Invalid, expired or used login code; log in again",
                    )
                ]
            )
        return CompleteSsoLogin.success(tokens=SessionTokenPair.from_tokens(tokens))
