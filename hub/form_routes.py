"""The no-JavaScript path: an ordinary HTML form posting to the hub.

``GET /act/{id}`` serves the form (with a signed render time); ``POST /act/{id}`` takes
``application/x-www-form-urlencoded`` fields (docs/CONTRACT.md), runs the same intake service
as ``addActionContact`` and answers a small thank-you or error page with a link back. A
filled honeypot field or a form sent faster than a person can type is accepted and flagged,
never refused: a bot learns nothing.
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
from hub.widget_routes import no_js_form, public_page_of
from orgs.crypto import Keyring
from orgs.intake import altcha, service
from orgs.intake.validation import IntakeValidationError
from resolvers.intake import intake_options, meta_of

MIN_SECONDS_TO_SUBMIT = 3
_TIME_PURPOSE = "form-render-time"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto;
             padding: 0 1rem; line-height: 1.5">
<h1>{title}</h1>{body}</body></html>"""


def _html(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=escape(title), body=body),
        status_code=status,
        headers={"cache-control": "no-store"},
    )


def _back_link(url: str | None) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""  # never a javascript: or relative link from a posted field
    return f'<p><a href="{escape(url)}">Back to the page</a></p>'


def render_time(keyring: Keyring, now: float | None = None) -> str:
    stamp = str(int(now if now is not None else time.time()))
    return f"{stamp}.{keyring.sign(_TIME_PURPOSE, stamp)}"


def _too_fast(keyring: Keyring, value: str | None) -> bool:
    """Sent sooner than a person could fill the form (only when the form carried its time)."""
    if not value:
        return False
    stamp, _, signature = value.partition(".")
    if not stamp.isdigit() or not keyring.verify(_TIME_PURPOSE, stamp, signature):
        return True  # a forged or mangled time: treat like a bot
    return time.time() - int(stamp) < MIN_SECONDS_TO_SUBMIT


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
        return _html("Petition not available", "<p>This petition is closed or unknown.</p>", 404)
    keyring: Keyring = request.app.state.keyring
    hub = str(request.base_url).rstrip("/")
    back = request.query_params.get("returnUrl") or request.headers.get("referer") or ""
    body = no_js_form(hub, page, back).replace(
        "</form>", f'<input type="hidden" name="_t" value="{render_time(keyring)}"></form>'
    )
    return _html(page["campaign"]["title"], body)


async def act(request: Request) -> Response:
    raw = await request.body()  # at most HUB_FORM_MAX_BODY_BYTES (hub.bodies.BodyLimit)
    fields = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    for box in ("optIn", "leadOptIn"):  # an HTML checkbox left unticked sends nothing
        if f"{box}Shown" not in fields and box in fields:
            fields[f"{box}Shown"] = "1"
    back = _back_link(fields.get("returnUrl"))
    try:
        page_id = int(request.path_params["page"])
    except ValueError:
        return _html("Petition not found", "<p>No such petition.</p>", 404)
    keyring: Keyring = request.app.state.keyring
    settings: Settings = request.app.state.settings
    uow: UnitOfWork = request.app.state.uow
    flagged = None
    if fields.get("website"):
        flagged = "honeypot"
    elif _too_fast(keyring, fields.get("_t")):
        flagged = "too_fast"
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
        items = "".join(f"<li>{escape(e.path[-1])}: {escape(e.message)}</li>" for e in error.errors)
        return _html(
            "Please check the form",
            f"<p>Your signature was not recorded:</p><ul>{items}</ul>{back}",
            400,
        )
    name = f", {escape(receipt.first_name)}" if receipt.first_name else ""
    return _html(f"Thank you{name}!", f"<p>Your signature has been recorded.</p>{back}")


async def altcha_challenge(request: Request) -> Response:
    """A proof-of-work challenge for pages with ``"altcha": true`` (see orgs/intake/altcha.py)."""
    keyring: Keyring = request.app.state.keyring
    return JSONResponse(altcha.challenge(keyring), headers={"cache-control": "no-store"})


routes: list[BaseRoute] = [
    Route("/altcha/challenge", altcha_challenge, methods=["GET"]),
    Route("/act/{page}", form, methods=["GET"]),
    Route("/act/{page}", act, methods=["POST"]),
]
