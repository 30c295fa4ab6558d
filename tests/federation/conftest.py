"""Federation fixtures: the npm composers and gateway (tests/federation/js), a live hub.

The npm packages are pinned by tests/federation/js/package-lock.json; ``.ci/run`` installs
them, and a local run installs them on first use (``npm ci``). Without node/npm the tests
that need them skip, except under CI=true where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# the widget's live hub (uvicorn in a thread, a database of its own, really committed)
from tests.widget.conftest import LiveHub, hub_database, live_hub

__all__ = ["LiveHub", "hub_database", "live_hub"]

JS = Path(__file__).resolve().parent / "js"


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the federation tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node() -> str:
    """The node binary, with tests/federation/js/node_modules installed from the lock file."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("node/npm not found (apt-get install -y nodejs npm)")
    assert node is not None
    assert npm is not None
    if not (JS / "node_modules" / ".package-lock.json").exists():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS, check=True
        )
    return node


Compose = Callable[[list[dict[str, str]]], dict[str, Any]]


@pytest.fixture(scope="session")
def compose(node: str) -> Compose:
    """Compose ``[{name, url, sdl}]`` with both composers.

    Answers ``{"apollo": {"errors": [...], "supergraph": ...}, "guild": {...}}``.
    """

    def run(subgraphs: list[dict[str, str]]) -> dict[str, Any]:
        done = subprocess.run(
            [node, "compose.mjs"],
            cwd=JS,
            input=json.dumps({"subgraphs": subgraphs}).encode(),
            capture_output=True,
            check=True,
            timeout=120,
        )
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    return run
