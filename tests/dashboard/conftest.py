"""Dashboard test fixtures: the widget suite's real hub and headless Chromium (tests/widget),
the demo coalition loaded into that hub, and where screenshots go."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.widget.conftest import (  # noqa: F401  (fixtures shared with the widget suite)
    axe_source,
    browser,
    chromium_path,
    hub_database,
    live_hub,
)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture(scope="session")
def dashboard_artifacts() -> Path:
    """Screenshots of the run: $HUB_ARTIFACTS/dashboard, else tests/artifacts/dashboard
    (git-ignored)."""
    root = Path(os.environ["HUB_ARTIFACTS"]) if os.environ.get("HUB_ARTIFACTS") else ARTIFACTS
    path = root / "dashboard"
    (path / "screen").mkdir(parents=True, exist_ok=True)
    return path
