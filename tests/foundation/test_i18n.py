"""The message catalog (orgs/i18n): complete, consistent placeholders, real translations."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from jinja2.sandbox import SandboxedEnvironment

from orgs.i18n import catalog

ROOT = Path(__file__).resolve().parents[2]
WIDGET = ROOT / "widget" / "widget.js"
OTHERS = [lang for lang in catalog.SUPPORTED if lang != "en"]
# The same word in English and another language is right here (and only here).
SAME_AS_ENGLISH = {
    ("de", "form.optional"),  # "(optional)"
    ("it", "form.email"),  # "Email"
    ("pt", "form.email"),
    ("nl", "form.postcode"),  # "Postcode"
}
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
SAMPLE = {
    "first_name": "Ada",
    "campaign": {"name": "rivers", "title": "Clean <rivers> & lakes"},
    "org": {"name": "delta", "title": "Friends of the Delta"},
    "accept_url": "https://hub.test/confirm/1.accept.2.sig?lang=xx",
    "reject_url": "https://hub.test/confirm/1.reject.2.sig?lang=xx",
    "erase_url": "https://hub.test/erase/1.2.sig?lang=xx",
}
URLS = {"confirmation": ("accept_url", "reject_url"), "thank_you": (), "erasure": ("erase_url",)}


def _flat(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in table.items():
        if isinstance(value, Mapping):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _strings(lang: str) -> dict[str, str]:
    return dict(_flat(catalog.messages(lang)))


def _marks(key: str, text: str) -> set[str]:
    """What must be the same in every language: Jinja2 expressions and tags in mails, the
    ``{name}`` placeholders elsewhere."""
    if key.startswith("mail."):
        return {re.sub(r"\s+", " ", mark) for mark in JINJA.findall(text)}
    return catalog.placeholders(text)


def _widget_strings() -> dict[str, dict[str, str]]:
    source = WIDGET.read_text("utf-8")
    keys_source = re.search(r"const KEYS = \((.*?)\)\.split", source, re.S)
    assert keys_source
    keys = "".join(re.findall(r"'([^']*)'", keys_source.group(1))).split()
    start = source.index("const TABLES = {")
    block = source[start : source.index("};", start)]
    return {
        lang: dict(zip(keys, text.split("|"), strict=True))
        for lang, text in re.findall(r"(\w\w): '([^']*)'", block)
    }


class TestCompleteness:
    @pytest.mark.parametrize("lang", OTHERS)
    def test_every_language_has_every_key(self, lang: str) -> None:
        assert set(_strings(lang)) == set(_strings("en"))

    @pytest.mark.parametrize("lang", OTHERS)
    def test_placeholders_are_the_same_as_in_english(self, lang: str) -> None:
        english = _strings("en")
        for key, text in _strings(lang).items():
            assert _marks(key, text) == _marks(key, english[key]), f"{lang}: {key}"

    @pytest.mark.parametrize("lang", OTHERS)
    def test_no_english_is_left(self, lang: str) -> None:
        english = _strings("en")
        same = {key for key, text in _strings(lang).items() if text == english[key]}
        assert same == {key for code, key in SAME_AS_ENGLISH if code == lang}

    @pytest.mark.parametrize("lang", catalog.SUPPORTED)
    def test_no_string_is_empty_or_padded(self, lang: str) -> None:
        for key, text in _strings(lang).items():
            assert isinstance(text, str), key
            assert text.strip(), key
            assert text == text.strip() or key.endswith(".text"), key

    @pytest.mark.parametrize("lang", catalog.SUPPORTED)
    def test_strings_shared_with_the_widget_say_the_same(self, lang: str) -> None:
        # the no-JS form and the widget use the same names, so the same words
        widget = _widget_strings()[lang]
        texts = {**catalog.form_texts(lang), **catalog.default_consent_texts(lang)}
        shared = set(texts) & set(widget)
        assert {"firstName", "email", "sign", "privacy", "optIn", "leadOptIn"} <= shared
        assert {k: texts[k] for k in shared} == {k: widget[k] for k in shared}


class TestMailTemplates:
    @pytest.mark.parametrize("lang", catalog.SUPPORTED)
    @pytest.mark.parametrize("kind", catalog.MAIL_KINDS)
    def test_every_template_renders_in_the_sandbox(self, lang: str, kind: str) -> None:
        template = catalog.mail_template(kind, lang)
        assert set(template) == set(catalog.MAIL_PARTS)
        text = SandboxedEnvironment(autoescape=False).from_string(template["text"]).render(SAMPLE)
        html = SandboxedEnvironment(autoescape=True).from_string(template["html"]).render(SAMPLE)
        for rendered in (text, html):
            assert "{" not in rendered
            assert "Ada" in rendered
            assert "Friends of the Delta" in rendered
            for url in URLS[kind]:
                assert SAMPLE[url] in rendered
        assert "Clean <rivers> & lakes" in text
        assert "Clean &lt;rivers&gt; &amp; lakes" in html  # autoescaped
        assert "<rivers>" not in html

    @pytest.mark.parametrize("lang", catalog.SUPPORTED)
    def test_a_missing_first_name_leaves_a_plain_greeting(self, lang: str) -> None:
        template = catalog.mail_template("thank_you", lang)["text"]
        text = SandboxedEnvironment().from_string(template).render({**SAMPLE, "first_name": None})
        greeting = text.splitlines()[0]
        assert "None" not in text
        assert re.fullmatch(r"\w+[,:]", greeting), greeting

    def test_an_unknown_kind_is_an_error(self) -> None:
        with pytest.raises(KeyError):
            catalog.mail_template("newsletter", "en")


class TestNegotiate:
    @pytest.mark.parametrize(
        ("locale", "language"),
        [
            ("fr", "fr"),
            ("fr_BE", "fr"),
            ("fr-BE", "fr"),
            ("FR", "fr"),
            ("pt_BR", "pt"),
            ("de-AT", "de"),
            ("sv", "en"),
            ("ar", "en"),
            ("", "en"),
            (None, "en"),
            ("../../etc/passwd", "en"),
            ("fr;q=0.9", "en"),
        ],
    )
    def test_a_locale_selects_a_supported_language(self, locale: str | None, language: str) -> None:
        assert catalog.negotiate(locale) == language

    def test_the_supported_languages_are_the_widgets(self) -> None:
        assert set(catalog.SUPPORTED) == set(_widget_strings())


class TestDirection:
    @pytest.mark.parametrize("locale", ["ar", "ar_EG", "he-IL", "fa", "ur", "ps", "yi", "ckb"])
    def test_right_to_left_languages(self, locale: str) -> None:
        assert catalog.direction(locale) == "rtl"

    @pytest.mark.parametrize("locale", ["en", "fr_FR", "de", "sv", "", None, "arx"])
    def test_left_to_right_languages(self, locale: str | None) -> None:
        assert catalog.direction(locale) == "ltr"

    def test_the_rule_is_the_widgets(self) -> None:
        match = re.search(r"const RTL = /\^\(([a-z|]+)\)\$/;", WIDGET.read_text("utf-8"))
        assert match
        assert set(match.group(1).split("|")) == catalog.RTL_LANGUAGES


class TestLookups:
    @pytest.mark.parametrize(
        ("locale", "tag"),
        [("pt_BR", "pt-BR"), ("EN-gb", "en-GB"), ("zh_hant_TW", "zh-Hant-TW"), ("x y", "en")],
    )
    def test_language_tag(self, locale: str, tag: str) -> None:
        assert catalog.language_tag(locale) == tag

    def test_lookup_keys_go_from_the_locale_to_its_language(self) -> None:
        assert catalog.lookup_keys("pt_BR") == ("pt_BR", "pt-BR", "pt")
        assert catalog.lookup_keys("fr") == ("fr",)
        assert catalog.lookup_keys("<script>") == ()

    @pytest.mark.parametrize("lang", catalog.SUPPORTED)
    def test_default_consent_texts_name_the_org_and_the_lead(self, lang: str) -> None:
        texts = catalog.default_consent_texts(lang)
        assert set(texts) == {"optIn", "leadOptIn"}
        assert catalog.placeholders(texts["optIn"]) == {"org"}
        assert catalog.placeholders(texts["leadOptIn"]) == {"lead"}

    def test_default_consent_texts_follow_the_locale(self) -> None:
        assert catalog.default_consent_texts("de_CH")["optIn"].startswith("Ja, {org}")
        assert catalog.default_consent_texts("sv") == catalog.default_consent_texts("en")

    def test_page_text_fills_placeholders(self) -> None:
        assert catalog.page_text("fr_CA", "confirmed") == "Votre signature est confirmée."
        assert catalog.fill("Merci, {name}\u00a0!", name="Ada") == "Merci, Ada\u00a0!"
        assert catalog.fill("{unknown} stays", name="Ada") == "{unknown} stays"

    def test_form_texts_take_the_pages_overrides_language_then_locale(self) -> None:
        overrides = {
            "de": {"sign": "Jetzt unterschreiben", "email": "E-Mail-Adresse", "nope": "x"},
            "de-AT": {"sign": "Jetzt unterzeichnen"},
            "fr": {"sign": "Signer"},
        }
        texts = catalog.form_texts("de_AT", overrides)
        assert texts["sign"] == "Jetzt unterzeichnen"
        assert texts["email"] == "E-Mail-Adresse"
        assert texts["firstName"] == "Vorname"
        assert "nope" not in texts
