from __future__ import annotations

from pathlib import Path

from schema.proca import print_sdl

SDL = Path(__file__).resolve().parents[2] / "schema" / "proca.graphql"


def test_committed_proca_sdl_matches_the_code() -> None:
    # Regenerate with: uv run python -m schema.dump
    assert SDL.read_text() == print_sdl()
