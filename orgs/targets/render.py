"""What a target receives: the signer's subject and body as plain text, personalised.

``{target}`` in a subject or body is the target's name (several targets of one mailto link:
their names, joined), ``{signer}`` the signer's name; a body without ``{signer}`` gets the
signer's name on a line of its own at the end. The hub adds a footer saying who sent the
message through which campaign, in the target's language (else the page's). Messages are
plain text only: markup a signer types stays inert text in every mail client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from orgs.i18n import catalog

TEST_PREFIX = "[TEST] "


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def template(templates: Mapping[str, Any], locale: str) -> Text | None:
    """The campaign's template for a page of ``locale`` (most specific key first, then
    English, then any); None when it has none."""
    if not isinstance(templates, Mapping) or not templates:
        return None
    keys = [*catalog.lookup_keys(locale), "en", *sorted(templates)]
    for key in keys:
        found = templates.get(key)
        if isinstance(found, Mapping) and (found.get("subject") or found.get("body")):
            return Text(str(found.get("subject") or ""), str(found.get("body") or ""))
    return None


def _fill(text: str, target: str, signer: str) -> str:
    return text.replace("{target}", target).replace("{signer}", signer)


def subject(raw: str, target: str, signer: str = "") -> str:
    """One line, whatever was stored: a header cannot be split (defence in depth)."""
    line = " ".join(_fill(raw, target, signer).split())
    return line[:300]


def body(raw: str, target: str, signer: str) -> str:
    filled = _fill(raw, target, signer).rstrip()
    if signer and "{signer}" not in raw:
        filled += f"\n\n{signer}"
    return filled + "\n"


def footer(locale: str, signer: str, campaign: str, org: str) -> str:
    line = catalog.mtt_text(locale, "footer", name=signer or "—", campaign=campaign, org=org)
    return f"\n-- \n{line}\n"


def test_note(locale: str, targets: Sequence[str]) -> str:
    return catalog.mtt_text(locale, "test", targets=", ".join(targets)) + "\n\n"


def mailto(emails: Sequence[str], text: Text, targets: Sequence[str], signer: str) -> str:
    """A ``mailto:`` link for the signer's own mail app: every address, subject and body."""
    names = ", ".join(targets)
    to = ",".join(quote(address, safe="@") for address in emails)
    return (
        f"mailto:{to}?subject={quote(subject(text.subject, names, signer), safe='')}"
        f"&body={quote(body(text.body, names, signer), safe='')}"
    )
