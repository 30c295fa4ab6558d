"""Plain HTML pages answering the links in confirmation and follow-up mails."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from hub.db import UnitOfWork
from orgs.contacts.erasure import erase_everywhere, read_erasure_token
from orgs.crypto import Keyring
from orgs.intake import confirmation
from orgs.intake.confirmation import Answer

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex"></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto;
             padding: 0 1rem; line-height: 1.5"><h1>{title}</h1><p>{body}</p>{form}</body></html>"""

DONE = {
    Answer.ACCEPT: ("Thank you!", "Your signature is confirmed."),
    Answer.REJECT: ("Deleted", "We have deleted your details. Sorry for the trouble."),
    Answer.UNSUBSCRIBE: ("Unsubscribed", "You will not receive further emails about this."),
}


def _page(title: str, body: str, status: int = 200, form: str = "") -> HTMLResponse:
    html = _PAGE.format(title=escape(title), body=escape(body), form=form)
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


async def confirm(request: Request) -> Response:
    keyring: Keyring = request.app.state.keyring
    found = confirmation.read_token(keyring, request.path_params["token"])
    if found is None:
        return _page("Link expired", "This link is invalid or has expired.", 404)
    supporter_id, answer = found
    if request.method == "GET" and answer is not Answer.ACCEPT:
        # mail scanners follow links: destructive answers need a click on a button (POST)
        action = escape(str(request.url.path))
        button = f'<form method="post" action="{action}"><button>Confirm</button></form>'
        question = (
            DONE[answer][1]
            .replace("We have deleted", "Delete")
            .replace("You will not receive", "Stop receiving")
        )
        return _page("Please confirm", question, form=button)
    uow: UnitOfWork = request.app.state.uow
    async with uow.session() as session:
        await confirmation.answer(await session.connection(), supporter_id, answer)
    title, body = DONE[answer]
    return _page(title, body)


async def erase(request: Request) -> Response:
    """The link of a person's own erasure request: every copy in the campaign goes."""
    keyring: Keyring = request.app.state.keyring
    supporter_id = read_erasure_token(keyring, request.path_params["token"])
    if supporter_id is None:
        return _page("Link expired", "This link is invalid or has expired.", 404)
    if request.method == "GET":
        # mail scanners follow links: erasing needs a click on a button (POST)
        action = escape(str(request.url.path))
        button = f'<form method="post" action="{action}"><button>Delete my details</button></form>'
        return _page(
            "Delete your details?",
            "Every organisation of the campaign that holds your details will delete them.",
            form=button,
        )
    uow: UnitOfWork = request.app.state.uow
    async with uow.session() as session:
        await erase_everywhere(await session.connection(), supporter_id)
    return _page("Deleted", "Your details are being deleted by every organisation that held them.")


routes: list[BaseRoute] = [
    Route("/confirm/{token}", confirm, methods=["GET", "POST"]),
    Route("/erase/{token}", erase, methods=["GET", "POST"]),
]
