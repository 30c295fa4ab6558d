"""Fixtures for the coalition tests: a statement counter on the test connection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, *args: Any) -> None:
        self.statements.append(args[2])

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()


@pytest.fixture
def query_counter(connection: AsyncConnection) -> Iterator[QueryCounter]:
    """Counts the SQL statements run on the test's connection (the app shares it)."""
    counter = QueryCounter()
    target = connection.sync_connection
    event.listen(target, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(target, "before_cursor_execute", counter)
