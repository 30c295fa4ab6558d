"""The pages that staff mails link to: choose a password (reset, invitation).

Plain HTML forms, no script: GET shows the form (a mail scanner following the link changes
nothing), POST spends the one-time token and sets the password, as the ``resetPassword`` /
``acceptInvitation`` mutations do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from hub.db import UnitOfWork
from orgs.identity.links import MIN_PASSWORD_LENGTH, PATHS, LinkPurpose, use_link

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex"></head>
<body style="font-family: system-ui, sans-serif; max-width: 30rem; margin: 3rem auto;
             padding: 0 1rem; line-height: 1.5"><main><h1>{title}</h1>{body}</main></body></html>"""
TITLES = {
    LinkPurpose.RESET_PASSWORD: "Choose a new password",
    LinkPurpose.INVITATION: "Welcome: choose your password",
}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=escape(title), body=body),
        status_code=status,
        headers={"cache-control": "no-store", "x-frame-options": "DENY"},
    )


def _form(purpose: LinkPurpose, token: str, problem: str | None = None) -> str:
    alert = f'<p role="alert">{escape(problem)}</p>' if problem else ""
    return (
        f'{alert}<form method="post"><input type="hidden" name="token" value="{escape(token)}">'
        f'<p><label for="password">New password (at least {MIN_PASSWORD_LENGTH} characters)'
        f'</label><br><input id="password" name="password" type="password" required '
        f'minlength="{MIN_PASSWORD_LENGTH}" autocomplete="new-password"></p>'
        "<p><button>Save</button></p></form>"
    )


def _handler(purpose: LinkPurpose) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        title = TITLES[purpose]
        if request.method == "GET":
            return _page(title, _form(purpose, request.query_params.get("token", "")))
        raw = await request.body()  # at most HUB_MAX_BODY_BYTES (hub.bodies.BodyLimit)
        fields = dict(parse_qsl(raw.decode("utf-8", "replace")))
        token, password = fields.get("token", ""), fields.get("password", "")
        if len(password) < MIN_PASSWORD_LENGTH:
            problem = f"Use at least {MIN_PASSWORD_LENGTH} characters."
            return _page(title, _form(purpose, token, problem), 400)
        uow: UnitOfWork = request.app.state.uow
        async with uow.session() as session:
            done = await use_link(session, token, purpose, password)
        if done is None:
            return _page("Link expired", "<p>This link is invalid, expired or used.</p>", 400)
        return _page("Password saved", "<p>Your password is saved: you can log in now.</p>")

    return handle


routes: list[BaseRoute] = [
    # an invitation of an existing account (JOIN) is accepted on the invitation's page
    Route(f"/{PATHS[purpose]}", _handler(purpose), methods=["GET", "POST"])
    for purpose in (LinkPurpose.RESET_PASSWORD, LinkPurpose.INVITATION)
]
