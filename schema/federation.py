"""The hub as a federation subgraph: ``_entities`` hardened against what any caller may send.

``_entities(representations: [_Any!]!)`` is a public root field (every subgraph has one) and
``_Any`` takes any JSON value. strawberry's resolver trusts the list: a value that is not an
object, a missing or unknown ``__typename``, a type that is not an entity, an extra key or a
key of the wrong type each end as an exception (a masked bug, logged at error level), and
every representation costs a query. Here every representation must be an object naming an
entity (a type with ``@key``), carrying exactly that entity's key of the declared type;
anything else is refused as the caller's mistake, and a request carries at most
:data:`MAX_REPRESENTATIONS` of them. What a reference then resolves to is each entity's own
``resolve_reference``, which applies the caller's scope (docs/federation.md).
"""

import inspect
from typing import Any

from graphql import GraphQLError
from strawberry.federation.schema import FederationAny
from strawberry.types import Info

from schema.errors import Schema

#: Representations per ``_entities`` call: a gateway sends one per distinct object of a
#: query plan step; a page of 100 results is far below it.
MAX_REPRESENTATIONS = 500
MAX_KEY_LENGTH = 200
_INT64 = 2**63


def _refused(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def _key_value(annotation: Any, value: Any) -> Any:
    """``value`` as the key's declared type, or raise when it is not one."""
    if annotation in (int, "int"):
        if isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit():
            value = int(value)  # an ID-typed key arrives as a string
        if isinstance(value, int) and not isinstance(value, bool) and -_INT64 <= value < _INT64:
            return value
        raise ValueError("an integer")
    if isinstance(value, str) and 0 < len(value) <= MAX_KEY_LENGTH:
        return value
    raise ValueError(f"a string of at most {MAX_KEY_LENGTH} characters")


class FederatedSchema(Schema):
    """The hub's schema: error reporting (schema/errors.py) and a checked ``_entities``."""

    def _entity_keys(self) -> dict[str, dict[str, Any]]:
        """{entity type name: {key argument: annotation}} from each ``resolve_reference``."""
        cached: dict[str, dict[str, Any]] | None = getattr(self, "_keys_cache", None)
        if cached is not None:
            return cached
        keys: dict[str, dict[str, Any]] = {}
        for name, type_ in self.schema_converter.type_map.items():
            origin = getattr(getattr(type_, "definition", None), "origin", None)
            resolve = getattr(origin, "resolve_reference", None)
            if resolve is None:
                continue
            parameters = inspect.signature(resolve, eval_str=True).parameters
            keys[name] = {
                arg: parameter.annotation for arg, parameter in parameters.items() if arg != "info"
            }
        self._keys_cache = keys
        return keys

    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        if len(representations) > MAX_REPRESENTATIONS:
            raise _refused(f"At most {MAX_REPRESENTATIONS} representations in one request.")
        entities = self._entity_keys()
        checked: list[Any] = []
        for index, representation in enumerate(representations):
            where = f"representations[{index}]"
            item: Any = representation
            typename = item.get("__typename") if isinstance(item, dict) else None
            if typename not in entities:
                names = ", ".join(sorted(entities))
                raise _refused(f"{where} must be an object whose __typename is one of {names}.")
            keys = entities[typename]
            unknown = sorted(set(item) - {"__typename", *keys})
            if unknown or set(keys) - set(item):
                key = ", ".join(keys)
                raise _refused(f"{where} must carry exactly the key of {typename}: {key}.")
            clean: dict[str, Any] = {"__typename": typename}
            for key, annotation in keys.items():
                try:
                    clean[key] = _key_value(annotation, item[key])
                except ValueError as expected:
                    raise _refused(f"{where}.{key} must be {expected}.") from None
            checked.append(clean)
        return super().entities_resolver(info, checked)
