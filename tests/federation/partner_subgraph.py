"""A partner org's own small subgraph: it extends the hub's entities with data of its own.

What an org adding the hub to its supergraph would write (docs/federation.md): entity types
of the same names and keys as the hub's, each with the org's fields, and a root field that
returns references the gateway resolves at the hub.
"""

from __future__ import annotations

from typing import Any

import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL

#: The page ids the partner features; the test fills it with pages of the live hub.
FEATURED: list[int] = []


@strawberry.federation.type(keys=["id"])
class ActionPage:
    id: int

    @strawberry.field(description="The partner's own note about the page.")
    def partner_note(self) -> str:
        return f"featured on partner.example (page {self.id})"

    @classmethod
    def resolve_reference(cls, id: int) -> ActionPage:
        return cls(id=int(id))


@strawberry.federation.type(keys=["id"])
class Campaign:
    id: int

    @strawberry.field(description="The partner's budget for the campaign.")
    def partner_budget(self) -> int:
        return 1000 + self.id

    @classmethod
    def resolve_reference(cls, id: int) -> Campaign:
        return cls(id=int(id))


@strawberry.federation.type(keys=["name"])
class Org:
    name: str

    @strawberry.field(description="The partner CRM's segment for the org.")
    def crm_segment(self) -> str:
        return f"segment-{self.name}"

    @classmethod
    def resolve_reference(cls, name: str) -> Org:
        return cls(name=name)


@strawberry.type
class Query:
    @strawberry.field(description="Pages the partner features (the hub resolves the rest).")
    def featured_pages(self) -> list[ActionPage | None]:
        return [ActionPage(id=page_id) for page_id in FEATURED]


schema = strawberry.federation.Schema(query=Query, types=[Campaign, Org], federation_version="2.0")


def sdl() -> str:
    return schema.as_str() + "\n"


def app() -> Any:
    return Starlette(routes=[Route("/graphql", GraphQL(schema), methods=["GET", "POST"])])
