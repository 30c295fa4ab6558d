"""Write the printed schema to schema/schema.graphql: ``python -m schema.dump``."""

from schema.schema import SDL_PATH, print_sdl

if __name__ == "__main__":
    SDL_PATH.write_text(print_sdl())
    print(f"wrote {SDL_PATH}")
