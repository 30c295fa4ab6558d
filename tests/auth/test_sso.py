"""Single sign-on through an org's OpenID Connect provider, against a real provider on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import AuditEvent, Org, User
from tests.auth.fake_idp import FakeIdp
from tests.conftest import GraphQLClient
from tests.factories import make_org, make_staffer, make_token, make_user
from tests.servers import serve_in_thread

RETURN_URL = "https://admin.river.example/sso"
API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"

CONFIGURE = """
mutation Configure($input: ConfigureSsoInput!) {
  configureSso(input: $input) {
    __typename
    ... on ConfigureSsoSuccess { provider { issuer clientId allowedDomains returnUrls loginUrl } }
    ... on ConfigureSsoErrors { errors { field code message } }
  }
}
"""

PROVIDER = "query($org: String!) { ssoProvider(org: $org) { issuer clientId } }"

COMPLETE = """
mutation Complete($code: String!) {
  completeSsoLogin(input: {code: $code}) {
    __typename
    ... on CompleteSsoLoginSuccess { tokens { accessToken refreshToken } }
    ... on CompleteSsoLoginErrors { errors { field code } }
  }
}
"""


@pytest.fixture(scope="module")
def idp() -> Iterator[FakeIdp]:
    fake = FakeIdp()
    with serve_in_thread(fake.app(), name="fake-idp") as url:
        fake.issuer = url
        yield fake


@pytest.fixture
def provider(idp: FakeIdp) -> Iterator[FakeIdp]:
    idp.misbehave = None
    idp.email = "staff@river.example"
    yield idp
    idp.misbehave = None


async def _configure(
    gql: GraphQLClient, token: str, org: str, idp: FakeIdp, **overrides: Any
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "org": org,
        "issuer": idp.issuer,
        "clientId": idp.client_id,
        "clientSecret": idp.client_secret,
        "allowedDomains": ["river.example"],
        "returnUrls": [RETURN_URL],
        **overrides,
    }
    body = await gql(CONFIGURE, {"input": config}, token=token)
    result: dict[str, Any] = body["data"]["configureSso"]
    return result


@pytest.fixture
async def river(session: AsyncSession, gql: GraphQLClient, provider: FakeIdp) -> Org:
    org = await make_org(session, "river-sso")
    user = await make_user(session, "staff@river.example")
    await make_staffer(session, org, user)
    _, owner_token = await make_token(session, org, ["staff:write"])
    result = await _configure(gql, owner_token, org.name, provider)
    assert result["__typename"] == "ConfigureSsoSuccess", result
    return org


async def _login(client: httpx.AsyncClient, org: str, return_to: str | None) -> httpx.Response:
    """The browser's journey: hub start -> provider -> hub callback."""
    params = {"returnTo": return_to} if return_to else {}
    start = await client.get(f"/auth/sso/{org}/start", params=params)
    assert start.status_code == 303, start.text
    async with httpx.AsyncClient() as browser:  # the provider is a real server
        at_provider = await browser.get(start.headers["location"])
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    assert back.netloc == "hub.test"
    return await client.get(f"{back.path}?{back.query}")


def _login_code(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(RETURN_URL + "#login_code=")
    return location.split("#login_code=", 1)[1]


class TestSsoLogin:
    async def test_staff_member_logs_in_and_gets_session_tokens(
        self, river: Org, client: httpx.AsyncClient, gql: GraphQLClient, provider: FakeIdp
    ) -> None:
        # when
        code = _login_code(await _login(client, river.name, RETURN_URL))
        body = await gql(COMPLETE, {"code": code})
        # then
        result = body["data"]["completeSsoLogin"]
        assert result["__typename"] == "CompleteSsoLoginSuccess"
        me = await gql("{ currentUser { email } }", token=result["tokens"]["accessToken"])
        assert me["data"]["currentUser"] == {"email": "staff@river.example"}

    async def test_login_code_works_once(
        self, river: Org, client: httpx.AsyncClient, gql: GraphQLClient
    ) -> None:
        # given
        code = _login_code(await _login(client, river.name, RETURN_URL))
        await gql(COMPLETE, {"code": code})
        # when
        again = await gql(COMPLETE, {"code": code})
        # then
        assert again["data"]["completeSsoLogin"] == {
            "__typename": "CompleteSsoLoginErrors",
            "errors": [{"field": ["input", "code"], "code": "INVALID_LINK"}],
        }

    async def test_without_return_url_the_code_is_shown_on_a_page(
        self, river: Org, client: httpx.AsyncClient
    ) -> None:
        # when
        response = await _login(client, river.name, None)
        # then
        assert response.status_code == 200
        assert "completeSsoLogin" in response.text
        assert response.headers["cache-control"] == "no-store"

    async def test_the_provider_sees_pkce_and_the_client_secret(
        self, river: Org, client: httpx.AsyncClient, provider: FakeIdp
    ) -> None:
        # when
        start = await client.get(f"/auth/sso/{river.name}/start", params={"returnTo": RETURN_URL})
        # then
        query = parse_qs(urlsplit(start.headers["location"]).query)
        assert query["code_challenge_method"] == ["S256"]
        assert query["client_id"] == [provider.client_id]
        assert query["redirect_uri"] == [f"http://hub.test/auth/sso/{river.name}/callback"]
        assert "openid" in query["scope"][0].split()
        cookie = start.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie


class TestSsoRefusals:
    async def test_return_url_outside_the_list_is_refused(
        self, river: Org, client: httpx.AsyncClient
    ) -> None:
        # when
        start = await client.get(
            f"/auth/sso/{river.name}/start", params={"returnTo": "https://evil.example/steal"}
        )
        # then
        assert start.status_code == 400
        assert "return address is not allowed" in start.text

    @pytest.mark.parametrize(
        ("misbehave", "message"),
        [
            ("nonce", "ID token is not valid"),
            ("foreign-key", "ID token is not valid"),
            ("unverified", "no verified email"),
        ],
    )
    async def test_a_bad_id_token_gives_no_code(
        self,
        misbehave: str,
        message: str,
        river: Org,
        client: httpx.AsyncClient,
        provider: FakeIdp,
        session: AsyncSession,
    ) -> None:
        # given
        provider.misbehave = misbehave
        # when
        response = await _login(client, river.name, RETURN_URL)
        # then
        assert response.status_code == 403
        assert message in response.text
        assert "login_code" not in response.headers.get("location", "")

    async def test_a_person_who_is_not_staff_cannot_log_in(
        self, river: Org, client: httpx.AsyncClient, provider: FakeIdp
    ) -> None:
        # given: the provider knows them, the hub does not
        provider.email = "stranger@river.example"
        # when
        response = await _login(client, river.name, RETURN_URL)
        # then
        assert response.status_code == 403
        assert "not staff of this organisation" in response.text

    async def test_staff_of_another_org_cannot_log_in_here(
        self, river: Org, client: httpx.AsyncClient, provider: FakeIdp, session: AsyncSession
    ) -> None:
        # given
        other = await make_org(session)
        await make_staffer(session, other, await make_user(session, "other@river.example"))
        provider.email = "other@river.example"
        await session.flush()
        # when
        response = await _login(client, river.name, RETURN_URL)
        # then
        assert response.status_code == 403

    async def test_staff_of_several_orgs_log_in_with_their_password(
        self, river: Org, client: httpx.AsyncClient, provider: FakeIdp, session: AsyncSession
    ) -> None:
        # given the river's staff member is also staff of another org (any org may invite any
        # address and run its own provider: a session it opened must not reach the others)
        user = (
            await session.execute(select(User).where(User.email == "staff@river.example"))  # type: ignore[arg-type]
        ).scalar_one()
        await make_staffer(session, await make_org(session), user)
        await session.flush()
        # when
        response = await _login(client, river.name, RETURN_URL)
        # then
        assert response.status_code == 403
        assert "also staff of other organisations" in response.text

    async def test_email_domain_outside_the_allowed_ones_is_refused(
        self, river: Org, client: httpx.AsyncClient, provider: FakeIdp, session: AsyncSession
    ) -> None:
        # given: staff, but with an address the org did not allow for SSO
        await make_staffer(session, river, await make_user(session, "staff@gmail.example"))
        provider.email = "staff@gmail.example"
        await session.flush()
        # when
        response = await _login(client, river.name, RETURN_URL)
        # then
        assert response.status_code == 403
        assert "gmail.example may not log in" in response.text

    async def test_a_callback_without_the_login_cookie_is_refused(
        self, river: Org, client: httpx.AsyncClient, provider: FakeIdp
    ) -> None:
        # given: an attacker's own authorization answer pasted into the victim's browser
        start = await client.get(f"/auth/sso/{river.name}/start", params={"returnTo": RETURN_URL})
        async with httpx.AsyncClient() as browser:
            at_provider = await browser.get(start.headers["location"])
        back = urlsplit(at_provider.headers["location"])
        client.cookies.clear()
        # when
        response = await client.get(f"{back.path}?{back.query}")
        # then
        assert response.status_code == 403
        assert "not started here" in response.text

    async def test_org_without_sso_says_so(self, client: httpx.AsyncClient) -> None:
        # when
        response = await client.get("/auth/sso/nobody-here/start")
        # then
        assert response.status_code == 400
        assert "not set up" in response.text


class TestConfigureSso:
    async def test_secret_is_stored_encrypted_and_never_returned(
        self, river: Org, session: AsyncSession, provider: FakeIdp, gql: GraphQLClient
    ) -> None:
        # given
        _, token = await make_token(session, river, ["staff:write"])
        # when
        body = await gql(PROVIDER, {"org": river.name}, token=token)
        # then
        assert body["data"]["ssoProvider"] == {
            "issuer": provider.issuer,
            "clientId": provider.client_id,
        }
        await session.refresh(river)
        assert provider.client_secret not in str(river.settings)
        audits = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.org_id == river.id, AuditEvent.action == "sso.configured")  # type: ignore[arg-type]
        )
        assert audits == 1

    async def test_an_issuer_that_does_not_answer_discovery_is_refused(
        self, session: AsyncSession, gql: GraphQLClient, provider: FakeIdp
    ) -> None:
        # given
        org = await make_org(session)
        _, token = await make_token(session, org, ["staff:write"])
        # when
        result = await _configure(gql, token, org.name, provider, issuer=provider.issuer + "/x")
        # then
        assert result["__typename"] == "ConfigureSsoErrors"
        assert result["errors"][0]["code"] == "DISCOVERY_FAILED"
        assert result["errors"][0]["field"] == ["input", "issuer"]

    async def test_plain_http_return_urls_are_refused(
        self, session: AsyncSession, gql: GraphQLClient, provider: FakeIdp
    ) -> None:
        # given
        org = await make_org(session)
        _, token = await make_token(session, org, ["staff:write"])
        # when
        result = await _configure(
            gql, token, org.name, provider, returnUrls=[RETURN_URL, "http://admin.example/sso"]
        )
        # then
        assert result["errors"] == [
            {
                "field": ["input", "returnUrls", "1"],
                "code": "INVALID_URL",
                "message": "Return URLs must be https",
            }
        ]

    async def test_only_owners_configure_and_others_see_not_found(
        self, river: Org, session: AsyncSession, gql: GraphQLClient, provider: FakeIdp
    ) -> None:
        # given: a data manager's token scope cannot even reach the resolver; an owner of
        # another org gets "not found" for this org
        outsider = await make_org(session)
        _, outsider_token = await make_token(session, outsider, ["staff:write"])
        _, stats_token = await make_token(session, river, ["stats:read"])
        # when
        foreign = await _configure(gql, outsider_token, river.name, provider)
        scoped = await gql(PROVIDER, {"org": river.name}, token=stats_token)
        # then
        assert foreign["errors"][0]["code"] == "NOT_FOUND"
        assert scoped["errors"][0]["extensions"]["code"] == "FORBIDDEN"


class TestSingleSignOnSection:
    async def test_examples_run_as_written(
        self,
        session: AsyncSession,
        client: httpx.AsyncClient,
        gql: GraphQLClient,
        provider: FakeIdp,
    ) -> None:
        # given
        text = API_DOC.read_text()
        section = text.split("## Single sign-on", 1)[1].split("\n## ", 1)[0]
        configure, complete = re.findall(r"```graphql\n(.*?)```", section, re.DOTALL)
        org = await make_org(session, "river-docs")
        await make_staffer(session, org, await make_user(session, provider.email))
        _, token = await make_token(session, org, ["staff:write"])
        # when
        configured = await gql(
            configure,
            {
                "org": org.name,
                "issuer": provider.issuer,
                "clientId": provider.client_id,
                "clientSecret": provider.client_secret,
            },
            token=token,
        )
        code = _login_code(await _login(client, org.name, RETURN_URL))
        completed = await gql(complete, {"code": code})
        # then
        assert configured["data"]["configureSso"]["provider"] == {
            "issuer": provider.issuer,
            "loginUrl": f"http://hub.test/auth/sso/{org.name}/start",
            "callbackUrl": f"http://hub.test/auth/sso/{org.name}/callback",
        }
        assert completed["data"]["completeSsoLogin"]["tokens"]["expiresIn"] > 0
