from __future__ import annotations

from pathlib import Path

from hub.settings import settings_reference

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_configuration_doc_lists_every_setting() -> None:
    text = (DOCS / "configuration.md").read_text()
    assert settings_reference() in text
