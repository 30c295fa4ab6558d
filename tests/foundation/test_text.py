"""orgs/text.py: the one text gate (pure functions, no database)."""

from __future__ import annotations

import pytest

from orgs.text import Refusal, TextRefused, clean_json, clean_text, problem


class TestCleanText:
    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            ("a\x00b", "contains a NUL character"),
            ("\ud800", "contains an invalid character (a lone surrogate)"),
            ("x\udfff", "contains an invalid character (a lone surrogate)"),
            ("a\x07", "contains a control character (U+0007)"),
            ("a\x1b[31m", "contains a control character (U+001B)"),
            ("a\x7f", "contains a control character (U+007F)"),
            ("a\x85", "contains a control character (U+0085)"),
            ("a\x9f", "contains a control character (U+009F)"),
            ("a\tb", "contains a control character (U+0009)"),
            ("a\nb", "contains a control character (U+000A)"),
            ("a\rb", "contains a control character (U+000D)"),
        ],
    )
    def test_one_line_text_refuses_every_control_character(self, value: str, reason: str) -> None:
        with pytest.raises(TextRefused) as refused:
            clean_text(value)
        assert refused.value.refusals == (Refusal((), reason),)
        assert value not in str(refused.value)  # never echoes the text

    def test_multi_line_text_keeps_tab_and_line_breaks_only(self) -> None:
        assert clean_text("one\r\ntwo\tthree", multiline=True) == "one\r\ntwo\tthree"
        for bad in ("\x00", "\ud800", "\x0b", "\x0c", "\x85"):
            assert problem(f"a{bad}", multiline=True) is not None

    def test_accepted_text_comes_back_in_nfc(self) -> None:
        assert clean_text("Zoe\u0301") == "Zo\u00e9"
        assert clean_text("\u212b") == "\u00c5"  # the angstrom sign is canonically Å
        # compatibility forms are kept: NFC, not NFKC
        assert clean_text("\ufb01") == "\ufb01"

    def test_astral_characters_and_format_characters_are_text(self) -> None:
        assert clean_text("\U0001f600 \u200d \u00a0") == "\U0001f600 \u200d \u00a0"


class TestCleanJson:
    def test_keys_and_values_are_checked_and_normalised_at_any_depth(self) -> None:
        value = {"cafe\u0301": ["ok", {"Zoe\u0301": "line\none"}], "n": 1.5, "b": None}
        assert clean_json(value) == {
            "caf\u00e9": ["ok", {"Zo\u00e9": "line\none"}],
            "n": 1.5,
            "b": None,
        }

    def test_the_input_is_not_modified(self) -> None:
        value = {"a": ["e\u0301"]}
        clean_json(value)
        assert value == {"a": ["e\u0301"]}

    def test_every_refusal_is_listed_with_its_path(self) -> None:
        with pytest.raises(TextRefused) as refused:
            clean_json({"a\x00": 1, "b": [{"c": "\ud800"}], "d": float("nan"), "ok": "x\ty"})
        assert refused.value.refusals == (
            Refusal((), "has a key that contains a NUL character"),
            Refusal(("b", 0, "c"), "contains an invalid character (a lone surrogate)"),
            Refusal(("d",), "is not a finite number", text=False),
        )

    def test_keys_are_one_line_and_values_follow_the_mode(self) -> None:
        with pytest.raises(TextRefused):
            clean_json({"a\nb": "x"})
        with pytest.raises(TextRefused):
            clean_json({"a": "x\ny"}, multiline=False)

    def test_keys_that_become_equal_once_normalised_are_refused(self) -> None:
        with pytest.raises(TextRefused) as refused:
            clean_json({"\u00e9": 1, "e\u0301": 2})
        assert refused.value.refusals == (Refusal((), "has two keys that are equal in NFC"),)

    def test_verbatim_mode_checks_without_rewriting(self) -> None:
        assert clean_json({"k": "e\u0301"}, normalised=False) == {"k": "e\u0301"}
        with pytest.raises(TextRefused):
            clean_json({"k": "\x00"}, normalised=False)

    def test_a_deep_value_does_not_exhaust_the_call_stack(self) -> None:
        deep: object = "e\u0301"
        for _ in range(5000):
            deep = [deep]
        cleaned = clean_json(deep)
        for _ in range(5000):
            assert isinstance(cleaned, list)
            cleaned = cleaned[0]
        assert cleaned == "\u00e9"
