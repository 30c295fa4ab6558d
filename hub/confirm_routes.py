"""Plain HTML pages answering the links in confirmation and follow-up mails.

They answer in the language the link names (``?lang=fr``, set by the mail from the page's
locale; orgs/i18n); an unknown or missing one gets English. The parameter is not signed: it
chooses words, never what the link does.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from hub.db import UnitOfWork
from orgs.contacts.erasure import erase_everywhere, read_erasure_token
from orgs.crypto import Keyring
from orgs.i18n import catalog
from orgs.intake import confirmation
from orgs.intake.confirmation import Answer

_PAGE = """<!doctype html>
<html lang="{lang}" dir="{dir}"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex"></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto;
             padding: 0 1rem; line-height: 1.5"><h1>{title}</h1><p>{body}</p>{form}</body></html>"""

# catalog keys (orgs/i18n, section "page"): the title and text once answered, the question
# a GET asks before a destructive answer
DONE = {
    Answer.ACCEPT: ("confirmedTitle", "confirmed"),
    Answer.REJECT: ("rejectedTitle", "rejected"),
    Answer.UNSUBSCRIBE: ("unsubscribedTitle", "unsubscribed"),
}
ASK = {Answer.REJECT: "askReject", Answer.UNSUBSCRIBE: "askUnsubscribe"}


def _language(request: Request) -> str:
    return catalog.negotiate(request.query_params.get("lang"))


def _page(language: str, title: str, body: str, status: int = 200, form: str = "") -> HTMLResponse:
    html = _PAGE.format(
        lang=catalog.language_tag(language),
        dir=catalog.direction(language),
        title=escape(title),
        body=escape(body),
        form=form,
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers={"cache-control": "no-store", "content-language": language},
    )


def _text(language: str, key: str) -> str:
    return catalog.page_text(language, key)


def _expired(language: str) -> HTMLResponse:
    return _page(language, _text(language, "expiredTitle"), _text(language, "expired"), 404)


def _button(request: Request, language: str, label: str) -> str:
    """A form posting back to this link, in the same language (mail scanners only GET)."""
    action = f"{quote(request.url.path)}?lang={language}"
    return f'<form method="post" action="{escape(action)}"><button>{escape(label)}</button></form>'


async def confirm(request: Request) -> Response:
    language = _language(request)
    keyring: Keyring = request.app.state.keyring
    found = confirmation.read_token(keyring, request.path_params["token"])
    if found is None:
        return _expired(language)
    supporter_id, answer = found
    if request.method == "GET" and answer is not Answer.ACCEPT:
        # mail scanners follow links: destructive answers need a click on a button (POST)
        return _page(
            language,
            _text(language, "askTitle"),
            _text(language, ASK[answer]),
            form=_button(request, language, _text(language, "askButton")),
        )
    uow: UnitOfWork = request.app.state.uow
    async with uow.session() as session:
        await confirmation.answer(await session.connection(), supporter_id, answer)
    title, body = DONE[answer]
    return _page(language, _text(language, title), _text(language, body))


async def erase(request: Request) -> Response:
    """The link of a person's own erasure request: every copy in the campaign goes."""
    language = _language(request)
    keyring: Keyring = request.app.state.keyring
    supporter_id = read_erasure_token(keyring, request.path_params["token"])
    if supporter_id is None:
        return _expired(language)
    if request.method == "GET":
        # mail scanners follow links: erasing needs a click on a button (POST)
        return _page(
            language,
            _text(language, "eraseTitle"),
            _text(language, "erase"),
            form=_button(request, language, _text(language, "eraseButton")),
        )
    uow: UnitOfWork = request.app.state.uow
    async with uow.session() as session:
        await erase_everywhere(await session.connection(), supporter_id)
    return _page(language, _text(language, "erasedTitle"), _text(language, "erased"))


routes: list[BaseRoute] = [
    Route("/confirm/{token}", confirm, methods=["GET", "POST"]),
    Route("/erase/{token}", erase, methods=["GET", "POST"]),
]
