from __future__ import annotations

from schema.schema import SDL_PATH, print_sdl


def test_committed_sdl_matches_the_code() -> None:
    # Regenerate with: uv run python -m schema.dump
    assert SDL_PATH.read_text() == print_sdl()
