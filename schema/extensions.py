"""Schema extensions: the request's unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension


class UnitOfWork(SchemaExtension):
    """Commit the request's transaction when the operation succeeded, roll back otherwise.

    Side effects leave the process only through outbox rows written in this transaction,
    so a rolled-back request leaves no trace anywhere.
    """

    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        ok = False
        try:
            yield
            result = self.execution_context.result
            ok = result is not None and not result.errors
        finally:
            await self.execution_context.context.finish(commit=ok)
