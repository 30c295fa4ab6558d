"""The no-JavaScript path: an ordinary HTML form posting to the hub.

``GET /act/{id}`` serves the form (with a signed render time); ``POST /act/{id}`` takes
``application/x-www-form-urlencoded`` fields (docs/CONTRACT.md), runs the same intake service
as ``addActionContact`` and answers a small thank-you or error page with a link back, in
the page's language (its locale, orgs/i18n; the page's own widget ``text`` overrides apply).

On a mail-to-target page the form has the widget's Email step (hub/email_step.py; on a
postcode campaign, ``GET /act/{id}?postcode=...`` after a first small form): the post is a
``mail2target`` action with the ticked targets, so it is never recorded as a bare signature,
and a mistake answers the form again with what the signer wrote, not only a link back.
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
from hub.email_step import MAIL_TO_TARGET, EmailStep, email_step_of, is_mail_to_target
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
<main><h1>{title}</h1>{body}</main></body></html>"""

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


_MTT_LABELS = {"targets": "mttTo", "subject": "mttSubject", "body": "mttBody"}


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
    if error.path[:2] == ("action", "mtt") and len(error.path) > 2:
        part = error.path[2]
        if part == "targets" and error.code is Code.REQUIRED:
            return f"<li>{escape(s['mttPick'])}</li>"
        label = s[_MTT_LABELS[part]] if part in _MTT_LABELS else part
        return f"<li>{escape(label)}: {escape(message)}</li>"
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


def _submission(form: dict[str, str], targets: list[str] | None = None) -> dict[str, Any]:
    """The intake's arguments from the posted fields; ``targets`` (the ticked boxes) on a
    mail-to-target page, which makes the action a ``mail2target`` one whatever was posted."""

    def ticked(name: str) -> bool | None:
        return (form.get(name) == "1") if f"{name}Shown" in form else None

    contact: dict[str, Any] = {
        key: form.get(key) for key in ("firstName", "lastName", "email", "phone")
    }
    address = {key: form.get(key) for key in ("country", "postcode") if form.get(key)}
    if address:
        contact["address"] = address
    custom: dict[str, Any] = {"comment": form["comment"]} if form.get("comment") else {}
    action: dict[str, Any] = {"actionType": form.get("actionType") or "signature"}
    if targets is not None:
        # subject and body are used only where the campaign lets signers edit (the intake's
        # rule); the boxes ask, and the campaign's settings decide (replyTo, mail app)
        action = {
            "actionType": MAIL_TO_TARGET,
            "mtt": {
                "targets": targets,
                "subject": form.get("subject") or None,
                "body": form.get("body") or None,
            },
        }
        if form.get("replyTo") == "1":
            custom["replyTo"] = True
        if form.get("mailto") == "1":
            custom["medium"] = "mailto"
    return {
        "action": {**action, "customFields": custom},
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
    step = await email_step_of(request, page, request.query_params.get("postcode"))
    body = no_js_form(hub, page, back, step, render_time=render_time(keyring))
    return _html(page, page["campaign"]["title"], body)


async def act(request: Request) -> Response:
    page_ref = request.path_params["page"]
    # the page's language for the answer (a public, cached read; unknown: English)
    page = await public_page_of(request, page_ref) if page_ref.isdigit() else None
    s = page_texts(page)
    raw = await request.body()  # at most HUB_FORM_MAX_BODY_BYTES (hub.bodies.BodyLimit)
    pairs = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
    fields = dict(pairs)
    # a mail-to-target page's ticked targets (a box per target; the intake checks each)
    targets = [v for k, v in pairs if k == "target" and v] if is_mail_to_target(page) else None
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
                **_submission(fields, targets),
            )
    except IntakeValidationError as error:
        language = catalog.negotiate(page.get("locale") if page else None)
        items = "".join(_problem(e, language, s) for e in error.errors)
        if page is not None and targets is not None:
            step = await email_step_of(request, page, fields.get("postcode"))
            if step is not None:
                return _again(request, page, s, fields, targets, step, items, flagged)
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
    if targets is not None and receipt.mailto:
        # mailto mode: the signer's own mail app sends it (a link works without JavaScript)
        link = f'<p><a href="{escape(receipt.mailto)}">{escape(s["mttOpen"])}</a></p>'
        return _html(page, s["mttSendOwn"], f"{link}{back}")
    if targets is not None:
        return _html(page, title, f"<p>{escape(s['mttSent'])}</p>{back}")
    return _html(page, title, f"<p>{escape(s['recorded'])}</p>{back}")


def _again(
    request: Request,
    page: dict[str, Any],
    s: dict[str, str],
    fields: dict[str, str],
    targets: list[str],
    step: EmailStep,
    items: str,
    flagged: str | None,
) -> HTMLResponse:
    """A mail-to-target form that did not pass, answered again with what the signer wrote
    (a long message is not lost) and the problems above it. The signed render time it was
    served with goes along, so that sending it again soon is not read as a bot's."""
    keyring: Keyring = request.app.state.keyring
    hub = str(request.base_url).rstrip("/")
    stamp = fields.get("_t") if flagged in (None, "too_fast") else None
    form = no_js_form(
        hub,
        page,
        fields.get("returnUrl") or "",
        step,
        values=fields,
        chosen=set(targets),
        render_time=stamp or render_time(keyring),
    )
    problems = f'<div role="alert"><p>{escape(s["mttNotSent"])}</p><ul>{items}</ul></div>'
    return _html(page, s["checkTitle"], problems + form, 400)


async def altcha_challenge(request: Request) -> Response:
    """A proof-of-work challenge for pages with ``"altcha": true`` (see orgs/intake/altcha.py)."""
    keyring: Keyring = request.app.state.keyring
    return JSONResponse(altcha.challenge(keyring), headers={"cache-control": "no-store"})


routes: list[BaseRoute] = [
    Route("/altcha/challenge", altcha_challenge, methods=["GET"]),
    Route("/act/{page}", form, methods=["GET"]),
    Route("/act/{page}", act, methods=["POST"]),
]
