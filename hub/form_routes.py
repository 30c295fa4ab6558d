"""The no-JavaScript path: an ordinary HTML form posting to the hub.

``GET /act/{id}`` serves the form (with a signed render time); ``POST /act/{id}`` takes
``application/x-www-form-urlencoded`` fields (docs/CONTRACT.md), runs the same intake service
as ``addActionContact`` and answers a small thank-you or error page with a link back, in
the page's language (its locale, orgs/i18n; the page's own widget ``text`` overrides apply).
A filled honeypot field or a form sent faster than a person can type is accepted and
flagged, never refused: a bot learns nothing.
"""

from __future__ import annotations

import time
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hub.db import UnitOfWork
from hub.settings import Settings
from hub.widget_routes import html_attributes, no_js_form, page_texts, public_page_of
from orgs.crypto import Keyring
from orgs.i18n import catalog
from orgs.intake import altcha, service
from orgs.intake.validation import Code, FieldError, IntakeValidationError
from resolvers.intake import intake_options, meta_of

MIN_SECONDS_TO_SUBMIT = 3
_TIME_PURPOSE = "form-render-time"

_PAGE = """<!doctype html>
<html {attributes}><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto;
             padding: 0 1rem; line-height: 1.5">
<h1>{title}</h1>{body}</body></html>"""

# validation codes -> catalog keys (section "form", the widget's names where it has them)
_CODE_TEXT = {
    Code.REQUIRED: "required",
    Code.INVALID_EMAIL: "invalidEmail",
    Code.TOO_LONG: "tooLong",
    Code.TOO_LARGE: "tooLong",
    Code.UNKNOWN_VERSION: "consentChanged",
    Code.PAGE_CLOSED: "closed",
    Code.PAGE_NOT_FOUND: "notFound",
}


def _html(page: dict[str, Any] | None, title: str, body: str, status: int = 200) -> HTMLResponse:
    """A page about ``page`` (``None``: unknown, English): ``title`` is plain text."""
    return HTMLResponse(
        _PAGE.format(attributes=html_attributes(page), title=escape(title), body=body),
        status_code=status,
        headers={"cache-control": "no-store"},
    )


def _back_link(url: str | None, label: str) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""  # never a javascript: or relative link from a posted field
    return f'<p><a href="{escape(url)}">{escape(label)}</a></p>'


_FIELD_LABELS = frozenset(
    {"firstName", "lastName", "email", "phone", "country", "postcode", "comment"}
)
_PAGE_CODES = frozenset({Code.PAGE_CLOSED, Code.PAGE_NOT_FOUND, Code.ORIGIN_NOT_ALLOWED})


def _problem(error: FieldError, language: str, s: dict[str, str]) -> str:
    """One validation error as a list item: the field's label and what to fix. The
    validation layer words its messages in English (more precise than the catalog's); other
    languages, and a page that overrides the text, get the catalog's message for the code."""
    key = _CODE_TEXT.get(error.code, "invalid")
    if language == catalog.DEFAULT and s[key] == catalog.form_texts(catalog.DEFAULT)[key]:
        message = error.message
    else:
        message = s[key]
    if error.code in _PAGE_CODES or not error.path:
        return f"<li>{escape(message)}</li>"
    field = error.path[-1]
    label = s[field] if field in _FIELD_LABELS else field
    return f"<li>{escape(label)}: {escape(message)}</li>"


def render_time(keyring: Keyring, now: float | None = None) -> str:
    stamp = str(int(now if now is not None else time.time()))
    return f"{stamp}.{keyring.sign(_TIME_PURPOSE, stamp)}"


def _render_time_flag(keyring: Keyring, value: str | None) -> str | None:
    """Why the form's signed render time makes a post look like a bot's, or None.

    The hub's own form (``GET /act/{id}``) always carries it: a post without one did not come
    from that form, a forged one was tampered with, and one sent sooner than a person could
    fill the form was not typed.
    """
    if not value:
        return "no_render_time"
    stamp, _, signature = value.partition(".")
    if not stamp.isdigit() or not keyring.verify(_TIME_PURPOSE, stamp, signature):
        return "bad_render_time"
    return "too_fast" if time.time() - int(stamp) < MIN_SECONDS_TO_SUBMIT else None


def _submission(form: dict[str, str]) -> dict[str, Any]:
    def ticked(name: str) -> bool | None:
        return (form.get(name) == "1") if f"{name}Shown" in form else None

    contact: dict[str, Any] = {
        key: form.get(key) for key in ("firstName", "lastName", "email", "phone")
    }
    address = {key: form.get(key) for key in ("country", "postcode") if form.get(key)}
    if address:
        contact["address"] = address
    custom = {"comment": form["comment"]} if form.get("comment") else {}
    return {
        "action": {"actionType": form.get("actionType") or "signature", "customFields": custom},
        "contact": contact,
        # a box that was on the form but left unticked is a "no"; one not on the form: not asked
        "privacy": {
            "optIn": ticked("optIn"),
            "leadOptIn": ticked("leadOptIn"),
            "consentVersion": form.get("consentVersion") or None,
        },
        "tracking": {
            key: form.get(key) for key in ("source", "medium", "campaign", "content", "location")
        },
    }


async def form(request: Request) -> Response:
    page = await public_page_of(request, request.path_params["page"])
    if page is None or page.get("status") != "LIVE":
        s = page_texts(page)
        return _html(page, s["unavailableTitle"], f"<p>{escape(s['notFound'])}</p>", 404)
    keyring: Keyring = request.app.state.keyring
    hub = str(request.base_url).rstrip("/")
    back = request.query_params.get("returnUrl") or request.headers.get("referer") or ""
    body = no_js_form(hub, page, back).replace(
        "</form>", f'<input type="hidden" name="_t" value="{render_time(keyring)}"></form>'
    )
    return _html(page, page["campaign"]["title"], body)


async def act(request: Request) -> Response:
    page_ref = request.path_params["page"]
    # the page's language for the answer (a public, cached read; unknown: English)
    page = await public_page_of(request, page_ref) if page_ref.isdigit() else None
    s = page_texts(page)
    raw = await request.body()  # at most HUB_FORM_MAX_BODY_BYTES (hub.bodies.BodyLimit)
    fields = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    for box in ("optIn", "leadOptIn"):  # an HTML checkbox left unticked sends nothing
        if f"{box}Shown" not in fields and box in fields:
            fields[f"{box}Shown"] = "1"
    back = _back_link(fields.get("returnUrl"), s["back"])
    if not page_ref.isdigit():
        return _html(page, s["unavailableTitle"], f"<p>{escape(s['notFound'])}</p>", 404)
    page_id = int(page_ref)
    keyring: Keyring = request.app.state.keyring
    settings: Settings = request.app.state.settings
    uow: UnitOfWork = request.app.state.uow
    flagged = "honeypot" if fields.get("website") else _render_time_flag(keyring, fields.get("_t"))
    try:
        async with uow.session() as session:
            receipt = await service.add_action_contact(
                await session.connection(),
                intake_options(settings, keyring),
                page_id,
                meta=meta_of(request, flagged),
                **_submission(fields),
            )
    except IntakeValidationError as error:
        language = catalog.negotiate(page.get("locale") if page else None)
        items = "".join(_problem(e, language, s) for e in error.errors)
        return _html(
            page,
            s["checkTitle"],
            f"<p>{escape(s['notRecorded'])}</p><ul>{items}</ul>{back}",
            400,
        )
    title = (
        catalog.fill(s["thanksNamed"], name=receipt.first_name)
        if receipt.first_name
        else s["thanksTitle"]
    )
    return _html(page, title, f"<p>{escape(s['recorded'])}</p>{back}")


async def altcha_challenge(request: Request) -> Response:
    """A proof-of-work challenge for pages with ``"altcha": true`` (see orgs/intake/altcha.py)."""
    keyring: Keyring = request.app.state.keyring
    return JSONResponse(altcha.challenge(keyring), headers={"cache-control": "no-store"})


routes: list[BaseRoute] = [
    Route("/altcha/challenge", altcha_challenge, methods=["GET"]),
    Route("/act/{page}", form, methods=["GET"]),
    Route("/act/{page}", act, methods=["POST"]),
]
