from __future__ import annotations

from pathlib import Path

from permissions.roles import permissions_reference

DOCS = Path(__file__).resolve().parents[2] / "docs"


class TestPermissionsDoc:
    def test_contains_the_current_table(self) -> None:
        text = (DOCS / "permissions.md").read_text()
        assert permissions_reference() in text
