"""Schema extensions: the request's unit of work; every problem of a rejected input."""

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


class InputErrors(SchemaExtension):
    """Report every problem of a rejected submission, not only the first one raised.

    A resolver can raise one error; ``schema.intake.InputError`` carries the others in
    ``more``, each with its own path down to the input field. They join the result here.
    """

    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        expanded = []
        for error in result.errors:
            expanded.append(error)
            expanded.extend(getattr(error, "more", None) or ())
        result.errors = expanded
