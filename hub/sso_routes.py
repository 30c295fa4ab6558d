"""Browser endpoints of single sign-on (OpenID Connect authorization code flow with PKCE).

``GET /auth/sso/{org}/start?returnTo=URL`` sends the browser to the org's identity provider;
``GET /auth/sso/{org}/callback`` comes back from it and ends at ``returnTo#login_code=...``
(or, without a return URL, on a page showing the code) for ``completeSsoLogin``.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from hub.dashboard_routes import dashboard_url
from hub.db import UnitOfWork
from hub.settings import Settings
from orgs.crypto import Keyring
from orgs.identity import sso

COOKIE = "chub_sso"
COOKIE_PATH = "/auth/sso"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto">
<h1>{title}</h1><p>{body}</p></body></html>"""


def _page(title: str, body: str, status: int) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=escape(title), body=body),
        status_code=status,
        headers={"cache-control": "no-store"},
    )


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:]


def _redirect_uri(settings: Settings, org: str) -> str:
    return f"{settings.public_url.rstrip('/')}/auth/sso/{org}/callback"


async def start(request: Request) -> Response:
    org = request.path_params["org"]
    uow: UnitOfWork = request.app.state.uow
    keyring: Keyring = request.app.state.keyring
    settings: Settings = request.app.state.settings
    try:
        async with uow.session() as session:
            url, state = await sso.begin(
                session,
                org,
                request.query_params.get("returnTo"),
                _redirect_uri(settings, org),
                hub_pages=[dashboard_url(settings)],
            )
    except sso.LoginFailed as exc:
        return _page("Single sign-on is not possible", escape(_sentence(exc)), 400)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        COOKIE,
        state.seal(keyring),
        max_age=sso.STATE_TTL_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        secure=urlsplit(settings.public_url).scheme == "https",
        samesite="lax",  # sent on the provider's top-level redirect back
    )
    return response


async def callback(request: Request) -> Response:
    org = request.path_params["org"]
    uow: UnitOfWork = request.app.state.uow
    keyring: Keyring = request.app.state.keyring
    settings: Settings = request.app.state.settings
    try:
        state = sso.LoginState.open(keyring, request.cookies.get(COOKIE))
        if state.org != org:
            raise sso.LoginFailed("this answer does not belong to the login in progress")
        async with uow.session() as session:
            code = await sso.complete(
                session,
                keyring,
                state,
                dict(request.query_params),
                _redirect_uri(settings, org),
            )
    except sso.LoginFailed as exc:
        response: Response = _page("Login failed", escape(_sentence(exc)), 403)
    else:
        if state.return_to:
            response = RedirectResponse(f"{state.return_to}#login_code={code}", status_code=303)
        else:
            response = _page(
                "Logged in",
                "Exchange this one-time code (valid two minutes) with the "
                f"<code>completeSsoLogin</code> mutation: <code>{escape(code)}</code>",
                200,
            )
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


routes: list[BaseRoute] = [
    Route("/auth/sso/{org}/start", start, methods=["GET"]),
    Route("/auth/sso/{org}/callback", callback, methods=["GET"]),
]
