"""Rendering the hub's mails: one renderer for the workers' sending and the API's preview.

A mail kind's parts (subject, text, html) come from the page's own ``templates[<locale>]``
(looked up as ``pt_BR``, ``pt-BR``, then ``pt``) or, part by part, from the catalog's defaults
in the page's language (orgs/i18n), rendered in Jinja2's sandbox with only the variables
below; the HTML part is autoescaped and declared in its language and direction.

Variables: ``first_name``, ``campaign.{name,title}``, ``org.{name,title}``, ``accept_url``,
``reject_url``, ``erase_url``.

Staff mails (password reset, invitation) are addressed to the hub's own users and written in
English: their texts live here, not in the supporters' catalog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from orgs.i18n import catalog

PARTS = frozenset(catalog.MAIL_PARTS)
PAGE_KINDS = ("confirmation", "thank_you")  # the kinds a page may write its own templates for
TEST_PREFIX = "[TEST] "

_env = SandboxedEnvironment(autoescape=False)
_html_env = SandboxedEnvironment(autoescape=True)

STAFF_MAILS: dict[str, dict[str, str]] = {
    "password_reset": {
        "subject": "Reset your Coalition Hub password",
        "text": (
            "Someone (we hope you) asked to reset the password of {{ email }} on Coalition Hub."
            "\n\nChoose a new password within an hour:\n{{ link }}\n\n"
            "If you did not ask, ignore this mail: your password stays as it is.\n"
        ),
    },
    "invitation": {
        "subject": "You are invited to {{ org.title }} on Coalition Hub",
        "text": (
            "You are invited to join {{ org.title }} on Coalition Hub as {{ role }}.\n\n"
            "Accept and choose your password within seven days:\n{{ link }}\n"
        ),
    },
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None
    language: str  # the language tag it is written in (Content-Language)


def own_templates(templates: Any, locale: str, kind: str) -> dict[str, str]:
    """The page's own parts of a mail kind for ``locale`` (most specific key first)."""
    if not isinstance(templates, dict):
        return {}
    for key in catalog.lookup_keys(locale):
        own = templates.get(key)
        if isinstance(own, dict) and isinstance(own.get(kind), dict):
            return {k: v for k, v in own[kind].items() if k in PARTS and isinstance(v, str)}
    return {}


def _document(html: str, locale: str) -> str:
    """A rendered HTML part as a document declaring its language and direction (a page's own
    template that is already a whole document is left as written)."""
    if re.search(r"<html[\s>]", html, re.IGNORECASE):
        return html
    tag, way = catalog.language_tag(locale), catalog.direction(locale)
    return (
        f'<!doctype html><html lang="{tag}" dir="{way}"><head><meta charset="utf-8"></head>'
        f"<body>{html}</body></html>"
    )


def render(kind: str, locale: str, templates: Any, context: dict[str, Any]) -> Rendered:
    """The mail ``kind`` for a page of ``locale`` with its own ``templates``."""
    language = catalog.negotiate(locale)
    own = own_templates(templates, locale, kind)
    chosen = {**catalog.mail_template(kind, language), **own}
    # the page's own wording is in the page's locale; the catalog's in its language
    written_in = locale if own else language
    html = None
    if chosen.get("html"):
        html = _document(_html_env.from_string(chosen["html"]).render(context), written_in)
    return Rendered(
        subject=_env.from_string(chosen["subject"]).render(context).strip(),
        text=_env.from_string(chosen["text"]).render(context),
        html=html,
        language=catalog.language_tag(written_in),
    )


def render_staff(kind: str, context: dict[str, Any]) -> Rendered:
    """A mail to one of the hub's users (English)."""
    parts = STAFF_MAILS[kind]
    return Rendered(
        subject=_env.from_string(parts["subject"]).render(context).strip(),
        text=_env.from_string(parts["text"]).render(context),
        html=None,
        language="en",
    )


def sample_context(
    public_url: str, campaign: dict[str, str], org: dict[str, str], locale: str
) -> dict[str, Any]:
    """What a preview or test mail is rendered with: an example person, links that lead
    nowhere (nobody's signature is confirmed by a test)."""
    base = public_url.rstrip("/")
    lang = f"?lang={catalog.negotiate(locale)}"
    return {
        "first_name": "Ada",
        "campaign": campaign,
        "org": org,
        "accept_url": f"{base}/confirm/EXAMPLE-accept{lang}",
        "reject_url": f"{base}/confirm/EXAMPLE-reject{lang}",
        "erase_url": f"{base}/erase/EXAMPLE{lang}",
    }
