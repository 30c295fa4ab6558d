from __future__ import annotations

from pathlib import Path

from orgs.scoping import visibility_reference
from permissions.roles import permissions_reference

DOCS = Path(__file__).resolve().parents[2] / "docs"


class TestPermissionsDoc:
    def test_contains_the_current_table(self) -> None:
        text = (DOCS / "permissions.md").read_text()
        assert permissions_reference() in text

    def test_contains_the_visibility_rule_of_orgs_scoping(self) -> None:
        text = (DOCS / "permissions.md").read_text()
        assert visibility_reference() in text
