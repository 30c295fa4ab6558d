"""Single sign-on: an org's staff log in through the org's OpenID Connect provider.

The org's owner configures the provider (issuer, client id and secret, allowed email domains,
the return URLs a login may end at). A login is the authorization code flow with PKCE and a
nonce, run by Authlib's OAuth 2 client: ``begin`` builds the provider's authorization URL and
the state to keep in a signed cookie; ``complete`` exchanges the code, verifies the ID token
against the provider's published keys and matches its verified email to an existing staff
member of that org (SSO never creates accounts: invite staff first). The result is a
short-lived one-time login code, exchanged for the usual session tokens by the
``completeSsoLogin`` mutation, so tokens never travel in a URL.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.audit import repository as audit
from orgs.crypto import Keyring
from orgs.identity import repository
from orgs.identity.access import JwtKeys
from orgs.identity.links import LinkPurpose, create_token, spend_token
from orgs.identity.service import SessionTokens, issue_session
from orgs.models import Org
from orgs.organisations.repository import org_by_name
from orgs.scoping import Scope
from permissions.policies import can_manage_staff

with warnings.catch_warnings():
    # Authlib 1.x flags its JOSE module as moving to joserfc (which verifies ID tokens here).
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
STATE_TTL_SECONDS = 600
CLOCK_LEEWAY_SECONDS = 60
ID_TOKEN_ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"]
_STATE_PURPOSE = "sso-state"


class SsoErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    INVALID_URL = "INVALID_URL"
    INVALID_DOMAIN = "INVALID_DOMAIN"
    DISCOVERY_FAILED = "DISCOVERY_FAILED"


@dataclass(frozen=True)
class SsoError:
    field: tuple[str, ...]
    code: SsoErrorCode
    message: str


NOT_FOUND = SsoError(("input", "org"), SsoErrorCode.NOT_FOUND, "No such org")


class LoginFailed(Exception):
    """A login attempt that cannot finish; the message is shown to the person logging in."""


@dataclass(frozen=True)
class SsoProvider:
    issuer: str
    client_id: str
    allowed_domains: tuple[str, ...]
    return_urls: tuple[str, ...]


def provider_of(org: Org) -> SsoProvider | None:
    raw = org.settings.get("sso")
    if not isinstance(raw, dict):
        return None
    return SsoProvider(
        issuer=str(raw["issuer"]),
        client_id=str(raw["clientId"]),
        allowed_domains=tuple(raw.get("allowedDomains", ())),
        return_urls=tuple(raw.get("returnUrls", ())),
    )


def _client_secret(org: Org, keyring: Keyring) -> str:
    blob = base64.b64decode(org.settings["sso"]["clientSecret"])
    return str(keyring.decrypt_json(blob)["secret"])


def _url_ok(url: str) -> bool:
    """https anywhere; plain http only on the loopback (a provider on the same machine)."""
    parts = urlsplit(url)
    if not parts.hostname or parts.username or parts.password:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


async def discover(issuer: str) -> dict[str, Any]:
    """The provider's OpenID configuration; LoginFailed when absent or inconsistent."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
            response = await http.get(url)
        response.raise_for_status()
        metadata = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise LoginFailed(f"the identity provider's configuration is unavailable ({exc})") from None
    required = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    if not isinstance(metadata, dict) or any(not metadata.get(key) for key in required):
        raise LoginFailed("the identity provider's configuration is incomplete")
    if metadata["issuer"] != issuer:
        raise LoginFailed("the identity provider announces another issuer")
    return metadata


# --- configuration (owners) ------------------------------------------------------------------


async def configure(
    session: AsyncSession,
    scope: Scope,
    keyring: Keyring,
    org: Org,
    *,
    issuer: str,
    client_id: str,
    client_secret: str,
    allowed_domains: Sequence[str],
    return_urls: Sequence[str],
) -> SsoProvider | SsoError:
    """Set (or replace) the org's provider after checking that it answers discovery."""
    assert org.id is not None
    if not can_manage_staff(scope.subject, org.id):
        return NOT_FOUND
    issuer = issuer.strip()
    if not _url_ok(issuer):
        return SsoError(("input", "issuer"), SsoErrorCode.INVALID_URL, "The issuer must be https")
    for index, url in enumerate(return_urls):
        if not _url_ok(url):
            return SsoError(
                ("input", "returnUrls", str(index)),
                SsoErrorCode.INVALID_URL,
                "Return URLs must be https",
            )
    domains = tuple(sorted({d.strip().lower().lstrip("@") for d in allowed_domains}))
    for index, domain in enumerate(domains):
        if "." not in domain or "/" in domain or " " in domain:
            return SsoError(
                ("input", "allowedDomains", str(index)),
                SsoErrorCode.INVALID_DOMAIN,
                f"{domain!r} is not an email domain",
            )
    try:
        await discover(issuer)
    except LoginFailed as exc:
        return SsoError(
            ("input", "issuer"), SsoErrorCode.DISCOVERY_FAILED, f"Discovery failed: {exc}"
        )
    secret = base64.b64encode(keyring.encrypt_json({"secret": client_secret})).decode()
    org.settings = {
        **org.settings,
        "sso": {
            "issuer": issuer,
            "clientId": client_id,
            "clientSecret": secret,
            "allowedDomains": list(domains),
            "returnUrls": list(return_urls),
        },
    }
    await session.flush()
    await _audit(session, scope, org.id, "sso.configured", issuer=issuer)
    provider = provider_of(org)
    assert provider is not None
    return provider


async def remove(session: AsyncSession, scope: Scope, org: Org) -> bool | SsoError:
    assert org.id is not None
    if not can_manage_staff(scope.subject, org.id):
        return NOT_FOUND
    org.settings = {key: value for key, value in org.settings.items() if key != "sso"}
    await session.flush()
    await _audit(session, scope, org.id, "sso.removed")
    return True


async def _audit(
    session: AsyncSession, scope: Scope, org_id: int, action: str, **details: str
) -> None:
    await audit.record(session, scope, org_id, action, "org", org_id, dict(details))


# --- the login flow (anonymous) ----------------------------------------------------------------


@dataclass(frozen=True)
class LoginState:
    """What the browser keeps (signed) between leaving for the provider and coming back."""

    org: str
    state: str
    nonce: str
    verifier: str
    return_to: str | None
    expires: int

    def seal(self, keyring: Keyring) -> str:
        body = base64.urlsafe_b64encode(json.dumps(asdict(self)).encode()).decode()
        return body + "." + keyring.sign(_STATE_PURPOSE, body)

    @classmethod
    def open(cls, keyring: Keyring, sealed: str | None) -> LoginState:
        body, _, signature = (sealed or "").rpartition(".")
        if not body or not keyring.verify(_STATE_PURPOSE, body, signature):
            raise LoginFailed("this login was not started here, or the browser lost its cookie")
        state = cls(**json.loads(base64.urlsafe_b64decode(body)))
        if state.expires < time.time():
            raise LoginFailed("this login took too long; start again")
        return state


def _client(provider: SsoProvider, secret: str | None, redirect_uri: str) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=secret,
        redirect_uri=redirect_uri,
        scope="openid email profile",
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT,
    )


async def _org_with_provider(session: AsyncSession, org_name: str) -> tuple[Org, SsoProvider]:
    org = await org_by_name(session, org_name)
    provider = provider_of(org) if org is not None else None
    if org is None or provider is None:
        raise LoginFailed("single sign-on is not set up for this organisation")
    return org, provider


async def begin(
    session: AsyncSession, org_name: str, return_to: str | None, redirect_uri: str
) -> tuple[str, LoginState]:
    """The provider's authorization URL and the state to keep until the callback."""
    _, provider = await _org_with_provider(session, org_name)
    if return_to is not None and return_to not in provider.return_urls:
        raise LoginFailed("this return address is not allowed for the organisation")
    metadata = await discover(provider.issuer)
    state = LoginState(
        org=org_name,
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        verifier=secrets.token_urlsafe(48),
        return_to=return_to,
        expires=int(time.time()) + STATE_TTL_SECONDS,
    )
    async with _client(provider, None, redirect_uri) as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"],
            state=state.state,
            nonce=state.nonce,
            code_verifier=state.verifier,
        )
    return str(url), state


async def complete(
    session: AsyncSession,
    keyring: Keyring,
    state: LoginState,
    params: Mapping[str, str],
    redirect_uri: str,
) -> str:
    """Finish a login: the one-time login code for the matched staff member."""
    if params.get("error"):
        raise LoginFailed(f"the identity provider refused: {params['error']}")
    if not secrets.compare_digest(params.get("state", ""), state.state):
        raise LoginFailed("this answer does not belong to the login in progress")
    code = params.get("code")
    if not code:
        raise LoginFailed("the identity provider sent no authorization code")
    org, provider = await _org_with_provider(session, state.org)
    assert org.id is not None
    metadata = await discover(provider.issuer)
    secret = _client_secret(org, keyring)
    try:
        async with _client(provider, secret, redirect_uri) as client:
            token = await client.fetch_token(
                metadata["token_endpoint"], code=code, code_verifier=state.verifier
            )
            jwks = (await client.get(metadata["jwks_uri"])).raise_for_status().json()
    except (httpx.HTTPError, ValueError) as exc:
        raise LoginFailed(f"the identity provider did not complete the login ({exc})") from None
    except Exception as exc:  # Authlib reports OAuth errors with its own exception types
        raise LoginFailed(f"the identity provider did not complete the login ({exc})") from None
    claims = _verify_id_token(token.get("id_token"), jwks, provider, state.nonce)
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or claims.get("email_verified") is False:
        raise LoginFailed("the identity provider gave no verified email address")
    domain = email.rsplit("@", 1)[1].lower()
    if provider.allowed_domains and domain not in provider.allowed_domains:
        raise LoginFailed(f"addresses at {domain} may not log in to this organisation")
    user = await repository.user_by_email(session, email)
    staffer = None
    if user is not None and user.id is not None and user.is_active:
        staffer = await repository.staffer(session, org.id, user.id)
    if user is None or user.id is None or staffer is None:
        raise LoginFailed(f"{email} is not staff of this organisation; ask an owner to invite you")
    # An org's provider vouches for its own staff only, and any org may run its own provider
    # and invite any address: a session it opened must not carry the person's rights in
    # other orgs (a session is the user's, with every org's grants), so staff of several
    # orgs log in with their password.
    if set(await repository.staff_roles(session, user.id)) != {org.id}:
        raise LoginFailed(
            f"{email} is also staff of other organisations: log in with your password"
        )
    return await create_token(session, user.id, LinkPurpose.SSO_LOGIN)


def _verify_id_token(
    id_token: object, jwks: object, provider: SsoProvider, nonce: str
) -> dict[str, Any]:
    if not isinstance(id_token, str) or not isinstance(jwks, dict):
        raise LoginFailed("the identity provider sent no ID token")
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        decoded = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": provider.issuer},
            aud={"essential": True, "value": provider.client_id},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise LoginFailed(f"the ID token is not valid ({exc})") from None
    return dict(decoded.claims)


async def exchange_login_code(
    session: AsyncSession, jwt_keys: JwtKeys, code: str
) -> SessionTokens | None:
    """Session tokens for a valid, unused login code; None otherwise."""
    user_id = await spend_token(session, code, LinkPurpose.SSO_LOGIN)
    if user_id is None:
        return None
    return await issue_session(session, jwt_keys, user_id)
