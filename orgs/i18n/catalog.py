"""The hub's own words in every supported language: consent wording, mails and HTML pages.

Pure data and lookups, no database. Each language is one JSON file next to this module with
the same keys and the same placeholders as ``en.json`` (tests/foundation/test_i18n.py checks):

* ``consent``: the default ``optIn`` / ``leadOptIn`` wording, with ``{org}`` and ``{lead}``;
* ``mail``: ``confirmation``, ``thank_you`` and ``erasure`` mails (``subject``, ``text``,
  ``html``), Jinja2 templates rendered in the sandbox by workers/mail.py;
* ``page``: the confirmation and erasure pages (hub/confirm_routes.py);
* ``form``: the no-JavaScript form and its answers (hub/form_routes.py); the keys shared with
  the widget (``firstName``, ``sign``, ...) are the widget's names, so a page's ``text``
  overrides apply to both;
* ``mtt``: what the hub adds to a supporter's message to a target (the footer naming the
  sender and the campaign) and to a test copy (orgs/targets/render.py);
* ``mttWidget``: the widget's Email step, sent with the step's settings
  (``campaign.mailToTarget.texts``) so the widget carries no table of them; the names are
  the widget's string names (``sign``, ``count_one``... replace the petition's wording).

A page's locale (``fr``, ``fr_BE``, ``pt-BR``...) picks the language by its first subtag;
anything else falls back to English, and so does a key a table lacks. Texts are plain text:
callers escape them for HTML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal

SUPPORTED: tuple[str, ...] = ("en", "fr", "de", "es", "it", "nl", "pl", "pt")
DEFAULT = "en"
MAIL_KINDS: tuple[str, ...] = ("confirmation", "thank_you", "erasure")
MAIL_PARTS: tuple[str, ...] = ("subject", "text", "html")
#: Right-to-left languages: the widget's rule (``RTL`` in widget/widget.js).
RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "yi", "ps", "dv", "ckb", "sd", "ug"})

_DIR = Path(__file__).resolve().parent
_LOCALE = re.compile(r"^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*$")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _subtags(locale: str | None) -> list[str]:
    value = (locale or "").strip()
    if not _LOCALE.match(value):
        return []
    return re.split(r"[-_]", value)


def base_language(locale: str | None) -> str:
    """The language subtag of ``locale`` in lower case (``"pt_BR"`` -> ``"pt"``), or ``""``."""
    parts = _subtags(locale)
    return parts[0].lower() if parts else ""


def negotiate(locale: str | None) -> str:
    """The supported language a locale selects: ``"fr_BE"`` / ``"fr-BE"`` -> ``"fr"``;
    unknown, empty or malformed -> ``"en"``."""
    language = base_language(locale)
    return language if language in SUPPORTED else DEFAULT


def direction(locale: str | None) -> Literal["rtl", "ltr"]:
    """``"rtl"`` for right-to-left languages (Arabic, Hebrew, Persian, Urdu...), else ``"ltr"``."""
    return "rtl" if base_language(locale) in RTL_LANGUAGES else "ltr"


def language_tag(locale: str | None) -> str:
    """The BCP 47 form of ``locale`` for ``lang`` attributes and headers (``"pt_BR"`` ->
    ``"pt-BR"``); ``"en"`` for a malformed one."""
    parts = _subtags(locale)
    if not parts:
        return DEFAULT
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 2 and part.isalpha():
            out.append(part.upper())  # region
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())  # script
        else:
            out.append(part.lower())
    return "-".join(out)


def lookup_keys(locale: str | None) -> tuple[str, ...]:
    """Where a page may keep its own texts for ``locale``, most specific first:
    ``"pt_BR"`` -> ``("pt_BR", "pt-BR", "pt")``."""
    raw = (locale or "").strip()
    if not _subtags(raw):
        return ()
    keys = [raw, raw.replace("_", "-"), raw.replace("-", "_"), base_language(raw)]
    return tuple(dict.fromkeys(keys))


@cache
def messages(language: str) -> Mapping[str, Any]:
    """The raw table of one supported language (as stored; no English fallback)."""
    if language not in SUPPORTED:
        raise KeyError(language)
    loaded: dict[str, Any] = json.loads((_DIR / f"{language}.json").read_text("utf-8"))
    return loaded


def _section(locale: str | None, *path: str) -> dict[str, str]:
    """One section of the locale's language over the English one (a missing key: English)."""

    def walk(table: Mapping[str, Any]) -> dict[str, str]:
        node: Any = table
        for key in path:
            node = node.get(key) if isinstance(node, Mapping) else None
        return {k: v for k, v in (node or {}).items() if isinstance(v, str)}

    return {**walk(messages(DEFAULT)), **walk(messages(negotiate(locale)))}


def fill(text: str, **values: str) -> str:
    """Replace ``{name}`` placeholders that have a value; others stay as written."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def placeholders(text: str) -> set[str]:
    """The ``{name}`` placeholders of a plain text."""
    return set(_PLACEHOLDER.findall(text))


def default_consent_texts(locale: str | None) -> dict[str, str]:
    """The default consent wording in the locale's language: ``{"optIn": ..., "leadOptIn":
    ...}`` with ``{org}`` and ``{lead}`` placeholders left for the form to fill."""
    texts = _section(locale, "consent")
    return {"optIn": texts["optIn"], "leadOptIn": texts["leadOptIn"]}


def mail_template(kind: str, locale: str | None) -> dict[str, str]:
    """The default ``subject``, ``text`` and ``html`` Jinja2 templates of a mail kind
    (``confirmation``, ``thank_you``, ``erasure``) in the locale's language."""
    if kind not in MAIL_KINDS:
        raise KeyError(kind)
    return _section(locale, "mail", kind)


def mtt_text(locale: str | None, key: str, **values: str) -> str:
    """One string the hub adds to messages to targets (``footer``, ``test``), filled."""
    return fill(_section(locale, "mtt")[key], **values)


def mtt_widget_texts(locale: str | None) -> dict[str, str]:
    """The widget's Email step strings in the locale's language (placeholders left)."""
    return _section(locale, "mttWidget")


def page_text(locale: str | None, key: str, **values: str) -> str:
    """One string of the hub's confirmation and erasure pages, placeholders filled."""
    return fill(_section(locale, "page")[key], **values)


def form_texts(locale: str | None, overrides: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The no-JS form's strings for a page: the catalog's, then the page's own ``text``
    overrides (widget config ``text``: locale -> {name: text}) for the language and then the
    exact locale, as the widget applies them. Only known names are taken."""
    return _overridden(_section(locale, "form"), locale, overrides)


def mtt_form_texts(
    locale: str | None, overrides: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The no-JS form's strings on a mail-to-target page: :func:`form_texts` with the Email
    step's (section ``mttWidget``, whose ``sign`` and ``thanks`` win), the page's overrides
    applied to both, as the widget does."""
    texts = {**_section(locale, "form"), **_section(locale, "mttWidget")}
    return _overridden(texts, locale, overrides)


def _overridden(
    texts: dict[str, str], locale: str | None, overrides: Mapping[str, Any] | None
) -> dict[str, str]:
    if isinstance(overrides, Mapping):
        for key in reversed(lookup_keys(locale)):
            own = overrides.get(key)
            if isinstance(own, Mapping):
                texts.update(
                    {k: v for k, v in own.items() if k in texts and isinstance(v, str) and v}
                )
    return texts
