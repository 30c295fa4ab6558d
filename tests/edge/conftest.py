"""Fixtures for the edge tests: the app with other settings, raw GraphQL posts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from hub.app import create_app
from hub.db import UnitOfWork
from hub.settings import Settings

ClientWith = Callable[..., Any]


@pytest.fixture
def client_with(settings: Settings, uow: UnitOfWork) -> ClientWith:
    """``async with client_with(debug=True) as http:`` an app built with changed settings."""

    @asynccontextmanager
    async def open_client(**changes: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings.model_copy(update=changes), uow=uow)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
            yield http

    return open_client


def errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    body = response.json()
    assert isinstance(body, dict), body
    errors: list[dict[str, Any]] = body.get("errors") or []
    return errors


def codes_of(response: httpx.Response) -> list[str | None]:
    return [(e.get("extensions") or {}).get("code") for e in errors_of(response)]
