"""A campaign's consent wording: versioned texts per locale, one current version per locale.

Stored in ``campaign.consent_texts``::

    {"versions": {"v1": {"en": {"optIn": "...", "leadOptIn": "..."}, "fr": {...}}},
     "current": {"en": "v1", "fr": "v1"}}

A version, once added, never changes: a Consent row records the version the person saw, and
an auditor must be able to read exactly that wording. A page shows the current version of
its locale (then of its language, then English, then any), and the widget sends that version
back with the signature. Every campaign starts with a valid version, so a new campaign can
take signatures at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LOCALE = re.compile(r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$")
FIRST_VERSION = "v1"
MAX_TEXT = 1000
FALLBACK_LOCALE = "en"


@dataclass(frozen=True)
class Wording:
    version: str
    locale: str
    opt_in: str
    lead_opt_in: str | None


def normalise(texts: Mapping[str, Any] | None) -> dict[str, Any]:
    """The stored texts in the current shape (older campaigns kept one English text per
    version and one current version)."""
    texts = dict(texts or {})
    versions: dict[str, Any] = {}
    for version, value in (texts.get("versions") or {}).items():
        if isinstance(value, Mapping) and "optIn" in value:  # the older shape
            versions[str(version)] = {FALLBACK_LOCALE: dict(value)}
        elif isinstance(value, Mapping):
            versions[str(version)] = {str(k): dict(v) for k, v in value.items()}
    current = texts.get("current")
    if isinstance(current, str):
        current = dict.fromkeys(versions.get(current, {FALLBACK_LOCALE: {}}), current)
    return {"versions": versions, "current": dict(current or {})}


def initial(defaults: Callable[[str], dict[str, str]], locales: tuple[str, ...]) -> dict[str, Any]:
    """The texts a new campaign starts with: version v1 in every supported locale."""
    per_locale = {locale: dict(defaults(locale)) for locale in locales}
    return {
        "versions": {FIRST_VERSION: per_locale},
        "current": dict.fromkeys(per_locale, FIRST_VERSION),
    }


def versions(texts: Mapping[str, Any] | None) -> frozenset[str]:
    """Every version the campaign ever showed (a signature may send any of them)."""
    return frozenset(normalise(texts)["versions"])


def _candidates(locale: str) -> list[str]:
    locale = locale.replace("-", "_")
    base = locale.split("_")[0]
    return list(dict.fromkeys([locale, base, FALLBACK_LOCALE]))


def wording(texts: Mapping[str, Any] | None, locale: str) -> Wording | None:
    """The current wording for a page's ``locale``; None when the campaign has none."""
    data = normalise(texts)
    current: dict[str, str] = data["current"]
    all_versions: dict[str, dict[str, dict[str, str]]] = data["versions"]
    for candidate in [*_candidates(locale), *sorted(current)]:
        version = current.get(candidate)
        if version is None or version not in all_versions:
            continue
        per_locale = all_versions[version]
        for shown in [*_candidates(locale), candidate]:
            if shown in per_locale:
                value = per_locale[shown]
                return Wording(
                    version=version,
                    locale=shown,
                    opt_in=str(value.get("optIn") or ""),
                    lead_opt_in=value.get("leadOptIn"),
                )
    return None


class ConsentTextError(ValueError):
    """A consent version request that cannot be applied; ``field`` names the input."""

    def __init__(self, field: tuple[str, ...], message: str, *, exists: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.exists = exists


def add_version(
    texts: Mapping[str, Any] | None,
    version: str,
    per_locale: Mapping[str, Mapping[str, str | None]],
    *,
    make_current: bool,
) -> dict[str, Any]:
    """The texts with a new version added (made current for its locales if asked)."""
    data = normalise(texts)
    if not VERSION.match(version):
        raise ConsentTextError(("version",), "letters, digits, . _ - (at most 64)")
    if version in data["versions"]:
        raise ConsentTextError(
            ("version",),
            "this version exists: a version never changes, add a new one",
            exists=True,
        )
    if not per_locale:
        raise ConsentTextError(("texts",), "give the wording in at least one locale")
    cleaned: dict[str, dict[str, str]] = {}
    for i, (locale, value) in enumerate(per_locale.items()):
        if not LOCALE.match(locale):
            raise ConsentTextError(("texts", str(i), "locale"), "a locale such as en or fr_BE")
        opt_in = (value.get("optIn") or "").strip()
        if not opt_in:
            raise ConsentTextError(("texts", str(i), "optIn"), "the opt-in wording is required")
        entry = {"optIn": opt_in}
        lead = (value.get("leadOptIn") or "").strip()
        if lead:
            entry["leadOptIn"] = lead
        for key, text in entry.items():
            if len(text) > MAX_TEXT:
                raise ConsentTextError(("texts", str(i), key), f"at most {MAX_TEXT} characters")
        cleaned[locale] = entry
    data["versions"][version] = cleaned
    if make_current:
        for locale in cleaned:
            data["current"][locale] = version
    return data


def set_current(texts: Mapping[str, Any] | None, locale: str, version: str) -> dict[str, Any]:
    """The texts with ``version`` current for ``locale`` (the version must hold that locale)."""
    data = normalise(texts)
    if version not in data["versions"]:
        raise ConsentTextError(("version",), "no such version")
    if locale not in data["versions"][version]:
        raise ConsentTextError(("locale",), "this version has no wording for that locale")
    data["current"][locale] = version
    return data
