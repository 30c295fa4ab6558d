"""The ASGI app for process managers: ``uvicorn --factory hub.asgi:create`` (several workers).

Reads the same ``HUB_*`` settings as the CLI; the database must already be running and
migrated (``coalition-hub serve --workers N`` arranges both).
"""

from __future__ import annotations

from starlette.applications import Starlette

from hub.app import create_app
from hub.db import Database
from hub.logging import configure_logging_for
from hub.settings import get_settings


def create() -> Starlette:
    settings = get_settings()
    # a worker process starts with no logging set up: without this its lines are unscrubbed
    configure_logging_for(settings)
    return create_app(settings, Database.from_settings(settings))
