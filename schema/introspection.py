"""Introspection only for those who may see the schema's shape at will.

``__schema`` and ``__type`` answer anonymous callers only on an embedded instance or with
``HUB_DEBUG``; any authenticated caller (user JWT or org API token) may introspect.
``__typename`` always works, and so does the federation field ``_service { sdl }``: a gateway
composes the hub through it, and the SDL is public anyway (schema/schema.graphql). Turning
introspection off is about not handing anonymous scanners a map and an expensive query, not
about keeping the schema secret.

The check depends on the caller, so it cannot be a validation rule (the validation cache is
keyed by the document alone): it runs as an extension right before validation, which also
spares anonymous introspection documents the cost of being validated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    ExecutableDefinitionNode,
    FieldNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

from schema.limits import INTROSPECTION_ROOTS

DISABLED = "INTROSPECTION_DISABLED"

# Documents that cannot contain __schema or __type skip the walk (`__typename` does not match).
_MENTIONS = re.compile(r"__(?:schema|type)\b")


def selects_introspection(document: DocumentNode) -> bool:
    """Whether any definition selects ``__schema`` or ``__type`` (each node visited once)."""
    stack: list[SelectionSetNode] = [
        definition.selection_set
        for definition in document.definitions
        if isinstance(definition, ExecutableDefinitionNode)
    ]
    while stack:
        for node in stack.pop().selections:
            if isinstance(node, FieldNode):
                if node.name.value in INTROSPECTION_ROOTS:
                    return True
                if node.selection_set is not None:
                    stack.append(node.selection_set)
            elif isinstance(node, InlineFragmentNode):
                stack.append(node.selection_set)
    return False


def may_introspect(context: Any) -> bool:
    settings = getattr(context, "settings", None)
    if settings is not None and (settings.debug or settings.embedded):
        return True
    subject = getattr(context, "subject", None)
    return bool(getattr(subject, "is_authenticated", False))


class IntrospectionGate(SchemaExtension):
    """Refuse ``__schema`` / ``__type`` to anonymous callers in production (see module doc)."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if (
            document is not None
            and (context.query is None or _MENTIONS.search(context.query))
            and not may_introspect(context.context)
            and selects_introspection(document)
        ):
            raise GraphQLError(
                "Introspection is disabled for anonymous callers: authenticate to introspect "
                "(a federation gateway can use _service { sdl }).",
                extensions={"code": DISABLED},
            )
        yield
