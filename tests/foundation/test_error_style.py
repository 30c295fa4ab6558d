"""One error style for every management mutation (issue 12): <Op>Result = <Op>Success |
<Op>Errors, each error {field: [String!], code: <service enum>, message}."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
)

from schema.schema import schema

# Proca's widget shapes, and answers that are the same whatever happened (by design)
PUBLIC_SHAPES = {"addActionContact", "addAction", "linkActions", "logout", "requestPasswordReset"}


def _named(type_: object) -> object:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def test_every_mutation_answers_success_or_errors() -> None:
    mutation = schema._schema.mutation_type
    assert mutation is not None
    odd = []
    for name, field in mutation.fields.items():
        if name in PUBLIC_SHAPES:
            continue
        result = _named(field.type)
        op = name[0].upper() + name[1:]
        if not isinstance(result, GraphQLUnionType) or result.name != f"{op}Result":
            odd.append(f"{name}: {result}")
            continue
        members = {t.name for t in result.types}
        if f"{op}Success" not in members:
            odd.append(f"{name}: no {op}Success")
    assert odd == []


def test_every_error_type_has_a_path_a_service_code_and_a_message() -> None:
    problems = []
    for type_ in schema._schema.type_map.values():
        if not (isinstance(type_, GraphQLObjectType) and type_.name.endswith("Errors")):
            continue
        error = _named(type_.fields["errors"].type)
        assert isinstance(error, GraphQLObjectType)
        fields = error.fields
        if set(fields) != {"field", "code", "message"}:
            problems.append(f"{error.name}: {sorted(fields)}")
            continue
        path = fields["field"].type
        if str(path) != "[String!]!":
            problems.append(f"{error.name}.field is {path}")
        code = _named(fields["code"].type)
        assert isinstance(code, GraphQLEnumType), error.name
        definition = (code.extensions or {}).get("strawberry-definition")
        module = definition.wrapped_cls.__module__ if definition else "?"
        if not module.startswith("orgs."):
            problems.append(f"{code.name} is defined in {module}, not by its service")
    assert problems == []
