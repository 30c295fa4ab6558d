"""Write the printed schemas: schema/schema.graphql (/graphql) and schema/proca.graphql
(Proca's dialect at /api): ``python -m schema.dump``."""

from pathlib import Path

from schema.proca import print_sdl as print_proca_sdl
from schema.schema import SDL_PATH, print_sdl

PROCA_SDL_PATH = Path(__file__).with_name("proca.graphql")

if __name__ == "__main__":
    SDL_PATH.write_text(print_sdl())
    PROCA_SDL_PATH.write_text(print_proca_sdl())
    print(f"wrote {SDL_PATH} and {PROCA_SDL_PATH}")
