"""What a target receives: the signer's subject and body as plain text, personalised.

Placeholders, filled in one pass (a value put in is never read again as a placeholder):
``{target}`` is the target's name (several targets of one mailto link: their names, joined),
``{signer}`` the signer's name; Proca's widget's tags work too: ``{{target.name}}``,
``{{target.externalId}}``, ``{{target.area}}``, ``{{target.locale}}`` and
``{{target.fields.KEY}}`` (an unknown tag becomes empty, as in mustache). A body without
``{signer}`` gets the signer's name on a line of its own at the end. The hub adds a footer
saying who sent the message through which campaign, in the target's language (else the
page's). Messages are plain text only: markup a signer types stays inert text in every mail
client, and a subject or display name is always one line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Recipient:
    """What placeholders may say of a target (its public fields only)."""

    name: str
    external_id: str = ""
    area: str | None = None
    locale: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)

    def tag(self, path: str) -> str:
        """The value of a mustache tag (``target.name``...); empty when there is none."""
        head, _, rest = path.partition(".")
        if head != "target":
            return ""
        if rest.startswith("fields."):
            value = (
                self.fields.get(rest[len("fields.") :])
                if isinstance(self.fields, Mapping)
                else None
            )
            return str(value) if isinstance(value, str | int | float) else ""
        found = {
            "name": self.name,
            "externalId": self.external_id,
            "area": self.area,
            "locale": self.locale,
        }.get(rest)
        return found or ""


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]{1,100})\s*\}\}|\{(target|signer)\}")


def _fill(text: str, target: Recipient | str, signer: str) -> str:
    who = target if isinstance(target, Recipient) else Recipient(target)

    def value(match: re.Match[str]) -> str:
        if match.group(2) == "signer":
            return signer
        if match.group(2) == "target":
            return who.name
        return who.tag(match.group(1))

    return _PLACEHOLDER.sub(value, text)


def line(value: str, limit: int = 300) -> str:
    """One line of at most ``limit`` characters: a header cannot be split (defence in depth
    behind the intake's and the upsert's text checks)."""
    return " ".join(value.split())[:limit]


def subject(raw: str, target: Recipient | str, signer: str = "") -> str:
    return line(_fill(raw, target, line(signer)))


def body(raw: str, target: Recipient | str, signer: str) -> str:
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
