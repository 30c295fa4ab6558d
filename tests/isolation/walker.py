"""Generate a type-correct GraphQL document for every root field, from the schema itself.

The walker knows nothing about the hub's operations: it reads ``query_type.fields`` and
``mutation_type.fields`` of the graphql-core schema, declares one variable per argument,
fills each argument (and each field of an input object, recursively) with the candidate
values an :class:`Aim` proposes for that coordinate, and selects every field of the result
down to a bounded depth (``... on X`` for each union member). A new operation is walked the
day it is added.

How candidates combine: within one argument list (a field's arguments, or an input object's
fields) the *key* slots (what points at an object: campaign, org, page, contactRef, ...) are
combined as a cartesian product (a stride sample of it beyond ``MAX_COMBINATIONS``), the
others are zipped along it, so every candidate of every slot is used at least once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    parse,
)

from schema.limits import BUDGET, measure_document

#: Slots that say *which* object an operation acts on: combined as a product.
KEY_SLOTS = frozenset(
    {
        "campaign",
        "org",
        "page",
        "actionPageId",
        "contactRef",
        "ref",
        "id",
        "email",
        "name",
        "userId",
        "connector",
    }
)
MAX_COMBINATIONS = 32  # per argument list: a stride sample of a larger product
SELECTION_DEPTH = 5  # object levels below the root field (the limits allow 12)

Candidates = list[Any]


class Aim:
    """Proposes values for a slot; the suite's subclass aims them at the victims."""

    def values(self, coordinate: str, name: str, type_: GraphQLInputType) -> Candidates | None:
        """Candidates for ``name`` at ``coordinate`` (``Mutation.addAction`` or an input type
        name), or None to let the walker fill it by its type."""
        return None

    def by_type(self, name: str, type_: GraphQLInputType) -> Candidates:
        named = get_named_type(type_)
        if isinstance(named, GraphQLEnumType):
            return list(named.values)  # every value, by its GraphQL name
        scalar = named.name
        if scalar == "Boolean":
            return [True, False]
        if scalar == "Int":
            return [1]
        if scalar == "Float":
            return [1.0]
        if scalar in ("Json", "_Any"):
            return [{}]
        if scalar == "DateTime":
            return ["2000-01-01T00:00:00+00:00"]
        if scalar == "Date":
            return ["2000-01-01"]
        return [f"attacker-{name}"]


@dataclass(frozen=True)
class Document:
    operation: str  # "Query.contacts"
    query: str
    variables: dict[str, Any]
    arguments: dict[str, Any]  # the same values by argument name


def _sample(items: list[Any], limit: int) -> list[Any]:
    if len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def combine(
    slots: list[tuple[str, Candidates, bool]], limit: int = MAX_COMBINATIONS
) -> list[dict[str, Any]]:
    """Assignments of ``slots`` (name, candidates, is_key): product of keys, others zipped."""
    keys = [(n, c) for n, c, key in slots if key]
    rest = [(n, c) for n, c, key in slots if not key]
    product = [
        dict(zip([n for n, _ in keys], combo, strict=True))
        for combo in itertools.product(*(c for _, c in keys))
    ]
    product = _sample(product, limit)
    count = max([len(product), *(len(c) for _, c in rest)])
    out = []
    for i in range(count):
        row = dict(product[i % len(product)])
        for n, c in rest:
            row[n] = c[i % len(c)]
        out.append(row)
    return out


class Walker:
    def __init__(self, schema: GraphQLSchema, aim: Aim) -> None:
        self.schema = schema
        self.aim = aim

    # --- inputs ------------------------------------------------------------------------------

    def candidates(
        self, coordinate: str, name: str, type_: GraphQLInputType, depth: int = 0
    ) -> Candidates:
        """Values for one argument or input field (input objects built recursively)."""
        proposed = self.aim.values(coordinate, name, type_)
        if proposed is not None:
            return proposed
        nullable = get_nullable_type(type_)
        if isinstance(nullable, GraphQLList):
            inner = self.candidates(coordinate, name, nullable.of_type, depth)
            return [inner[:1], inner]
        if isinstance(nullable, GraphQLInputObjectType):
            assert depth < 6, f"input types nest too deep at {coordinate}.{name}"
            return self.input_object(nullable, depth + 1, nullable_here=type_ is nullable)
        return self.aim.by_type(name, type_)

    def input_object(
        self, type_: GraphQLInputObjectType, depth: int, *, nullable_here: bool
    ) -> Candidates:
        fields: dict[str, GraphQLInputField] = type_.fields
        slots = [
            (n, self.candidates(type_.name, n, f.type, depth), n in KEY_SLOTS)
            for n, f in fields.items()
        ]
        values: Candidates = combine(slots)
        if type_.name.endswith("Filter"):
            # one criterion at a time: a filter must not test another org's list on its own
            values += [{n: v} for n, c, _ in slots for v in c]
        if nullable_here:
            values.append(None)
        return values

    # --- selections --------------------------------------------------------------------------

    def selection(
        self,
        type_: GraphQLOutputType,
        nested: list[tuple[str, str, Any]],
        depth: int = SELECTION_DEPTH,
        used: dict[str, str] | None = None,
    ) -> str:
        """Every field down to ``depth``; a field's required arguments become variables
        (appended to ``nested`` as (name, type, value): the first candidate), the optional
        ones keep their defaults."""
        named = get_named_type(type_)
        if is_leaf_type(named):
            return ""
        parts = ["__typename"]
        if isinstance(named, GraphQLUnionType | GraphQLInterfaceType):
            # members answer at the same level: a name two members type differently (or that
            # selects objects) gets an alias, else the document does not validate; an
            # interface's members too, so that their own fields are asked (Proca's dialect)
            used: dict[str, str] = {}
            for member in self.schema.get_possible_types(named):
                inner = self.selection(member, nested, depth, used)
                parts.append(f"... on {member.name} {inner}")
        else:
            assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
            for field_name, field in named.fields.items():
                sub = get_named_type(field.type)
                if not is_leaf_type(sub) and depth <= 0:
                    continue
                call = field_name + self._nested_arguments(named.name, field_name, field, nested)
                if used is not None:
                    shape = str(field.type) if is_leaf_type(sub) else f"{named.name}.{field_name}"
                    if used.setdefault(field_name, shape) != shape:
                        call = f"{field_name}_{named.name}: {call}"
                if is_leaf_type(sub):
                    parts.append(call)
                else:
                    parts.append(f"{call} {self.selection(field.type, nested, depth - 1)}")
        return "{ " + " ".join(parts) + " }"

    def _nested_arguments(
        self, parent: str, name: str, field: GraphQLField, nested: list[tuple[str, str, Any]]
    ) -> str:
        passed = []
        for arg_name, arg in field.args.items():
            if not isinstance(arg.type, GraphQLNonNull):
                continue
            variable = f"n{len(nested)}"
            value = self.candidates(f"{parent}.{name}", arg_name, arg.type)[0]
            nested.append((variable, str(arg.type), value))
            passed.append(f"{arg_name}: ${variable}")
        return f"({', '.join(passed)})" if passed else ""

    # --- documents ---------------------------------------------------------------------------

    def root_fields(self) -> Iterator[tuple[str, str, GraphQLField]]:
        for kind, root in (
            ("Query", self.schema.query_type),
            ("Mutation", self.schema.mutation_type),
        ):
            if root is not None:
                for name, field in root.fields.items():
                    yield kind, name, field

    def documents(self, kind: str, name: str, field: GraphQLField) -> list[Document]:
        coordinate = f"{kind}.{name}"
        args: dict[str, GraphQLArgument] = field.args
        slots = [
            (n, self.candidates(coordinate, n, a.type), n in KEY_SLOTS) for n, a in args.items()
        ]
        assignments = combine(slots) if slots else [{}]
        names = {n: f"a{i}" for i, n in enumerate(args)}
        # as deep as the hub's cost budget lets a client ask (schema/limits.py)
        for depth in range(SELECTION_DEPTH, -1, -1):
            nested: list[tuple[str, str, Any]] = []
            selection = self.selection(field.type, nested, depth)
            declared = ", ".join(
                [f"${names[n]}: {a.type}" for n, a in args.items()]
                + [f"${v}: {t}" for v, t, _ in nested]
            )
            passed = ", ".join(f"{n}: ${names[n]}" for n in args)
            head = kind.lower() + (f"({declared})" if declared else "")
            call = name + (f"({passed})" if passed else "")
            query = f"{head} {{ {call} {selection} }}"
            if measure_document(self.schema, parse(query)).exceeded(BUDGET) is None:
                break
        fixed = {v: value for v, _, value in nested}
        return [
            Document(coordinate, query, {**{names[n]: v for n, v in row.items()}, **fixed}, row)
            for row in assignments
        ]

    def all_documents(self, skip: Callable[[str], bool]) -> list[Document]:
        out: list[Document] = []
        for kind, name, field in self.root_fields():
            if not skip(f"{kind}.{name}"):
                out.extend(self.documents(kind, name, field))
        return out
