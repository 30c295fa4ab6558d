"""The assembled schema: one Query and one Mutation merged from each area's parts.

Each area contributes a ``*Query`` / ``*Mutation`` class; add yours to the lists below.
The printed SDL is committed as schema/schema.graphql (a test keeps them equal).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import strawberry
from strawberry.extensions import MaskErrors
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.audit import AuditQuery
from schema.auth import AuthMutation
from schema.coalition import CoalitionMutation
from schema.contacts import (
    ContactMutation,
    ContactQuery,
    ErasureMutation,
    PublicErasureMutation,
)
from schema.delivery import DeliveryMutation, DeliveryQuery
from schema.errors import MASKED_MESSAGE, should_mask
from schema.extensions import InputErrors, TextGate, UnitOfWork
from schema.federation import FederatedSchema
from schema.intake import IntakeMutation
from schema.introspection import IntrospectionGate
from schema.limits import CostLimits, DocumentLimits, DocumentValidation
from schema.org import OrgQuery
from schema.organisation import OrganisationMutation
from schema.public import PublicQuery
from schema.scalars import Json, JsonValue
from schema.sso import SsoMutation, SsoQuery
from schema.staff import StaffMutation, StaffQuery
from schema.stats import StatsQuery
from schema.targets import TargetMutation, TargetQuery
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
    AuditQuery,
    TargetQuery,
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
    PublicErasureMutation,
    OrganisationMutation,
    TargetMutation,
)

SDL_PATH = Path(__file__).with_name("schema.graphql")

#: The lowest Apollo Federation version the schema needs: it uses only ``@key``, which
#: federation v2.0 defines. Composers refuse links newer than they know (The Guild's, which
#: Hive Gateway uses, refused v2.11); tests/federation/test_composition.py checks this is the
#: minimum of every federation directive in use.
FEDERATION_VERSION: Final = "2.0"


def _build() -> strawberry.Schema:
    query = merge_types("Query", QUERIES)
    mutation = merge_types("Mutation", MUTATIONS) if MUTATIONS else None
    return FederatedSchema(
        federation_version=FEDERATION_VERSION,
        config=StrawberryConfig(scalar_map={JsonValue: Json}),
        query=query,
        mutation=mutation,
        extensions=[
            UnitOfWork,
            InputErrors,
            TextGate,
            # size and token limits, then the (cached) parse
            DocumentLimits,
            # caller-dependent, so before (and outside) the cached validation
            IntrospectionGate,
            # the linear cost rule, first among the validation rules (schema/limits.py)
            CostLimits,
            # validation cached per document text (replaces strawberry's ValidationCache)
            DocumentValidation,
            lambda: MaskErrors(should_mask_error=should_mask, error_message=MASKED_MESSAGE),
        ],
    )


schema = _build()


def print_sdl() -> str:
    return schema.as_str() + "\n"
