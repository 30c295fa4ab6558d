"""How GraphQL errors are told: a client's mistakes without the values it sent, bugs masked.

Three kinds, decided by ``kind_of``:

- ``request``: the document or the variables were wrong (syntax, validation, variable
  coercion). graphql-core writes the offending value into these messages ("Variable '$c' has
  invalid value at .email: String cannot represent a non string value: <value>"); the value
  is cut here, for the caller and for the logs alike, keeping the path and the expected type.
  Logged at info.
- ``expected``: an error a resolver raised on purpose: a GraphQLError located at its field
  (``schema.intake.InputError``) or one with an exposed code (authentication, not found).
  The caller sees it; the log has the code, path and message, at info.
- ``unexpected``: everything else is a bug, wherever it was raised (a resolver, an
  extension, the commit). The caller gets the masked message; the log has the exception and
  its traceback at error level (scrubbed by hub.logging like every line).
"""

from __future__ import annotations

from typing import Any, Literal

import strawberry
import structlog
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from hub.logging import scrub_text

log = structlog.get_logger(__name__)

# Errors whose message is meant for the caller; anything else is a bug and gets masked.
EXPOSED_CODES = frozenset(
    {"UNAUTHENTICATED", "FORBIDDEN", "BAD_USER_INPUT", "NOT_FOUND", "RATE_LIMITED"}
)

MASKED_MESSAGE = "Unexpected error."  # what MaskErrors answers by default

Kind = Literal["request", "expected", "unexpected"]


def kind_of(error: GraphQLError) -> Kind:
    original = error.original_error
    if error.path is None and (original is None or isinstance(original, GraphQLError)):
        return "request"  # parse, validation and variable errors are about the request itself
    if original is None:
        return "expected"  # raised as a located GraphQLError on purpose (schema.intake)
    extensions = error.extensions or {}
    if extensions.get("code") in EXPOSED_CODES or extensions.get("expose"):
        return "expected"
    return "unexpected"


def should_mask(error: GraphQLError) -> bool:
    """MaskErrors' test: only bugs are masked (also those raised outside a resolver)."""
    return kind_of(error) == "unexpected"


def without_values(message: str) -> str:
    """A request error's message without the submitted value (idempotent)."""
    return scrub_text(message)


def report(error: GraphQLError, execution_context: ExecutionContext | None = None) -> None:
    """Log ``error`` by its kind; a request error's message loses its values in place."""
    operation = execution_context.operation_name if execution_context else None
    kind = kind_of(error)
    if kind == "request":
        # the caller receives this very object: the rewrite reaches the response too
        error.message = without_values(error.message)
        log.info(
            "graphql.request_rejected",
            code=(error.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED"),
            message=error.message,
            locations=[(loc.line, loc.column) for loc in error.locations or ()],
            operation=operation,
        )
    elif kind == "expected":
        log.info(
            "graphql.error_returned",
            code=(error.extensions or {}).get("code"),
            message=error.message,
            path=error.path,
            operation=operation,
        )
    else:
        original: Any = error.original_error
        log.error(
            "graphql.unexpected_error",
            error=type(original).__name__ if original is not None else "GraphQLError",
            path=error.path,
            operation=operation,
            exc_info=original if original is not None else False,
        )
        # MaskErrors replaces it for the caller, but an error raised while the extensions
        # finish (the unit of work's commit) arrives after MaskErrors has run
        error.message = MASKED_MESSAGE


class Schema(strawberry.federation.Schema):
    """The federation schema, reporting errors through ``report`` instead of strawberry's logger.

    strawberry calls ``process_errors`` once per error list, before extensions (MaskErrors)
    see the result, for parse, validation, variable and execution errors alike.
    """

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            report(error, execution_context)
