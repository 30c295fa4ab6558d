"""The assembled schema: one Query and one Mutation merged from each area's parts.

Each area contributes a ``*Query`` / ``*Mutation`` class; add yours to the lists below.
The printed SDL is committed as schema/schema.graphql (a test keeps them equal).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.auth import AuthMutation
from schema.coalition import CoalitionMutation
from schema.contacts import ContactMutation, ContactQuery, ErasureMutation
from schema.delivery import DeliveryMutation, DeliveryQuery
from schema.extensions import InputErrors, UnitOfWork
from schema.intake import IntakeMutation
from schema.introspection import IntrospectionGate
from schema.limits import CostLimits, DocumentLimits, DocumentValidation
from schema.org import OrgQuery
from schema.public import PublicQuery
from schema.scalars import Json, JsonValue
from schema.sso import SsoMutation, SsoQuery
from schema.staff import StaffMutation, StaffQuery
from schema.stats import StatsQuery
from schema.tokens import TokenMutation, TokenQuery

QUERIES: tuple[type, ...] = (
    PublicQuery,
    OrgQuery,
    StaffQuery,
    TokenQuery,
    ContactQuery,
    StatsQuery,
    SsoQuery,
    DeliveryQuery,
)
MUTATIONS: tuple[type, ...] = (
    IntakeMutation,
    AuthMutation,
    StaffMutation,
    TokenMutation,
    CoalitionMutation,
    ContactMutation,
    SsoMutation,
    DeliveryMutation,
    ErasureMutation,
)

SDL_PATH = Path(__file__).with_name("schema.graphql")

# Errors whose message is meant for the caller; anything else is a bug and gets masked.
EXPOSED_CODES = frozenset(
    {"UNAUTHENTICATED", "FORBIDDEN", "BAD_USER_INPUT", "NOT_FOUND", "RATE_LIMITED"}
)


def _exposed(extensions: dict[str, Any]) -> bool:
    return extensions.get("code") in EXPOSED_CODES or bool(extensions.get("expose"))


def _should_mask(error: GraphQLError) -> bool:
    if error.original_error is None or error.path is None:
        return False  # parse, validation and variable errors are about the request itself
    return not _exposed(error.extensions or {})


class HubSchema(strawberry.federation.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log bugs with their traceback; refused requests and expected denials by code only.

        strawberry's default logs every error with an excerpt of the document, which can hold
        personal data (a literal email in a mutation) and lets a hostile client flood the
        log at ERROR level.
        """
        for error in errors:
            extensions = error.extensions or {}
            if error.original_error is None or _exposed(extensions):
                code = extensions.get("code", "GRAPHQL_VALIDATION_FAILED")
                _log.info("GraphQL request refused: %s", code)
            else:
                path = ".".join(str(part) for part in error.path or ())
                _log.error(
                    "GraphQL error at %s: %s",
                    path or "-",
                    type(error.original_error).__name__,
                    exc_info=error.original_error,
                )


_log = logging.getLogger("strawberry.execution")


def _build() -> strawberry.Schema:
    query = merge_types("Query", QUERIES)
    mutation = merge_types("Mutation", MUTATIONS) if MUTATIONS else None
    return HubSchema(
        config=StrawberryConfig(scalar_map={JsonValue: Json}),
        query=query,
        mutation=mutation,
        extensions=[
            UnitOfWork,
            InputErrors,
            # size and token limits, then the (cached) parse
            DocumentLimits,
            # caller-dependent, so before (and outside) the cached validation
            IntrospectionGate,
            # the linear cost rule, first among the validation rules (schema/limits.py)
            CostLimits,
            # validation cached per document text (replaces strawberry's ValidationCache)
            DocumentValidation,
            lambda: MaskErrors(should_mask_error=_should_mask),
        ],
    )


schema = _build()


def print_sdl() -> str:
    return schema.as_str() + "\n"
