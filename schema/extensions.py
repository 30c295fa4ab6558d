"""Schema extensions: the request's unit of work, every problem of a rejected input, text gate."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    visit,
)
from strawberry.extensions import SchemaExtension

from orgs.text import TextRefused, clean_json, normalise, problem


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


# Text the gate must not rewrite: a hash or a remote service compares the exact string.
VERBATIM_FIELDS = frozenset(
    {
        "LoginInput.password",
        "ResetPasswordInput.password",
        "AcceptInvitationInput.password",
        "ResetPasswordInput.token",
        "AcceptInvitationInput.token",
        "RefreshTokenInput.refreshToken",
        "LogoutInput.refreshToken",
        "CompleteSsoLoginInput.code",
        "ConfigureSsoInput.clientSecret",
        "AddConnectorInput.secrets",
    }
)
# Free text that may keep tab and line breaks; every other string is one line.
MULTI_LINE_FIELDS = frozenset(
    {
        "ApproveLaunchInput.message",
        "RejectLaunchInput.message",
        "MailToTargetTemplateInput.body",
    }
)
# Scalars carrying JSON: keys are one line, string values may hold line breaks (templates).
JSON_SCALARS = frozenset({"Json", "_Any"})
# The public intake checks its own arguments (orgs/intake/validation.py), because the widget
# fast path and the no-JS form reach the same service without strawberry; checking them
# here as well would make the two paths answer differently.
SELF_CHECKED_FIELDS = frozenset(
    {"Mutation.addActionContact", "Mutation.addAction", "Mutation.linkActions"}
)
MAX_TEXT_ERRORS = 50
INVALID_TEXT = "INVALID_TEXT"

Path = list[str | int]


@dataclass(frozen=True)
class _Rule:
    multiline: bool
    normalised: bool


def _leaf_rule(coordinate: str, leaf: GraphQLNamedType) -> _Rule:
    return _Rule(
        multiline=coordinate in MULTI_LINE_FIELDS or leaf.name in JSON_SCALARS,
        normalised=coordinate not in VERBATIM_FIELDS,
    )


class TextGate(SchemaExtension):
    """Every string of an operation passes the text gate (orgs/text.py) before anything runs.

    Walks the executed operation once (each fragment once, never expanded per spread): its
    string literals and the variable values it uses, following the argument and input types,
    JSON scalar values included (keys and string values, at any depth). A refused value
    (NUL, lone surrogate, control character) answers one ``INVALID_TEXT`` error with the
    input path (``[field, argument, input field, ...]``) and nothing is executed, so
    nothing is written. Accepted strings reach the resolvers in NFC, except the
    ``VERBATIM_FIELDS`` secrets, which are checked but passed on unchanged.
    """

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if context.result is None and document is not None:
            operation = get_operation_ast(document, context.operation_name)
            if operation is not None:
                gate = _Walk(context.schema._schema, document, context.variables or {})
                gate.operation(operation)
                if gate.errors:
                    context.result = ExecutionResult(data=None, errors=gate.errors)
                else:
                    context.variables = gate.variables
                    context.graphql_document = gate.normalised_document()
        yield


class _Walk:
    """One pass over an operation: the refused strings, the NFC variables and literals."""

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any]
    ) -> None:
        self.schema = schema
        self.document = document
        self.variables = dict(variables)
        self.errors: list[GraphQLError] = []
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.definitions: dict[str, VariableDefinitionNode] = {}
        self._literals: dict[int, tuple[StringValueNode, str]] = {}
        self._seen_variables: set[tuple[str, _Rule]] = set()
        self._seen_fragments: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> None:
        self.definitions = {d.variable.name.value: d for d in operation.variable_definitions or ()}
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return
        self._directives(operation.directives, [])
        stack: list[tuple[SelectionNode, GraphQLNamedType | None, Path]] = []
        self._push(stack, operation.selection_set, root, [])
        while stack:  # one selection at a time, depth first, in document order
            selection, parent, path = stack.pop()
            self._directives(selection.directives, path)
            if isinstance(selection, FieldNode):
                child = self._field(selection, parent, path)
                if child is not None:
                    self._push(stack, *child)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                self._push(stack, selection.selection_set, inner, path)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in self._seen_fragments:
                    continue
                self._seen_fragments.add(name)
                self._directives(fragment.directives, path)
                inner = self.schema.get_type(fragment.type_condition.name.value)
                self._push(stack, fragment.selection_set, inner, path)

    @staticmethod
    def _push(
        stack: list[tuple[SelectionNode, GraphQLNamedType | None, Path]],
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType | None,
        path: Path,
    ) -> None:
        stack.extend((s, parent, path) for s in reversed(selection_set.selections))

    def _field(
        self, node: FieldNode, parent: GraphQLNamedType | None, path: Path
    ) -> tuple[SelectionSetNode, GraphQLNamedType | None, Path] | None:
        key = node.alias.value if node.alias else node.name.value
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return None
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return None
        coordinate = f"{parent.name}.{node.name.value}"
        if coordinate not in SELF_CHECKED_FIELDS:
            for argument in node.arguments or ():
                name = argument.name.value
                argument_definition = definition.args.get(name)
                if argument_definition is not None:
                    self._value(
                        argument.value,
                        argument_definition.type,
                        [*path, key, name],
                        f"{coordinate}({name})",
                    )
        if node.selection_set is None:
            return None
        return node.selection_set, get_named_type(definition.type), [*path, key]

    def _directives(self, nodes: tuple[DirectiveNode, ...] | None, path: Path) -> None:
        for node in nodes or ():
            directive = self.schema.get_directive(node.name.value)
            if directive is None:
                continue
            for argument in node.arguments or ():
                name = argument.name.value
                definition = directive.args.get(name)
                if definition is not None:
                    self._value(
                        argument.value,
                        definition.type,
                        [*path, f"@{node.name.value}", name],
                        f"@{node.name.value}({name})",
                    )

    def _value(self, node: ValueNode, type_: GraphQLInputType, path: Path, coordinate: str) -> None:
        """A literal (or the variable in its place) where ``type_`` is expected."""
        stack: list[tuple[ValueNode, GraphQLInputType, Path, str]] = [
            (node, type_, path, coordinate)
        ]
        while stack:
            node, type_, path, coordinate = stack.pop()
            nullable = get_nullable_type(type_)
            if isinstance(node, VariableNode):
                rule = _leaf_rule(coordinate, get_named_type(type_))
                self._variable(node, rule, path, (type_, coordinate))
            elif isinstance(nullable, GraphQLList):
                if isinstance(node, ListValueNode):
                    items = list(enumerate(node.values))
                    stack.extend(
                        (item, nullable.of_type, [*path, i], coordinate)
                        for i, item in reversed(items)
                    )
                else:  # a single value where a list is expected: coerced to a list of one
                    stack.append((node, nullable.of_type, path, coordinate))
            elif isinstance(nullable, GraphQLInputObjectType):
                if isinstance(node, ObjectValueNode):
                    for field in reversed(node.fields):
                        name = field.name.value
                        definition = nullable.fields.get(name)
                        if definition is not None:
                            stack.append(
                                (
                                    field.value,
                                    definition.type,
                                    [*path, name],
                                    f"{nullable.name}.{name}",
                                )
                            )
            else:
                self._literal(node, _leaf_rule(coordinate, get_named_type(type_)), path)

    def _literal(self, node: ValueNode, rule: _Rule, path: Path) -> None:
        """A scalar literal: a string, or (for JSON scalars) a list or object of them."""
        stack: list[tuple[ValueNode, Path]] = [(node, path)]
        while stack:
            node, path = stack.pop()
            if isinstance(node, StringValueNode):
                reason = problem(node.value, multiline=rule.multiline)
                if reason is not None:
                    self._refuse(reason, path, node)
                elif rule.normalised and (clean := normalise(node.value)) != node.value:
                    self._literals[id(node)] = (node, clean)
            elif isinstance(node, VariableNode):  # a variable inside a JSON literal
                self._variable(node, rule, path)
            elif isinstance(node, ListValueNode):
                stack.extend(
                    (item, [*path, i]) for i, item in reversed(list(enumerate(node.values)))
                )
            elif isinstance(node, ObjectValueNode):
                stack.extend((f.value, [*path, f.name.value]) for f in reversed(node.fields))

    def _variable(
        self,
        node: VariableNode,
        rule: _Rule,
        path: Path,
        typed: tuple[GraphQLInputType, str] | None = None,
    ) -> None:
        """Check a variable's value (or its default) once per rule, at its first use.

        ``typed``: the type and coordinate where it is used; None inside a JSON literal.
        """
        name = node.name.value
        if (name, rule) in self._seen_variables:
            return
        self._seen_variables.add((name, rule))
        if name in self.variables:
            value = self.variables[name]
            self.variables[name] = (
                self._leaf(value, rule, path, node)
                if typed is None
                else self._raw(value, typed[0], path, typed[1], node)
            )
            return
        definition = self.definitions.get(name)
        if definition is None or definition.default_value is None:
            return
        if typed is None:
            self._literal(definition.default_value, rule, path)
        else:
            self._value(definition.default_value, typed[0], path, typed[1])

    def _raw(
        self, value: Any, type_: GraphQLInputType, path: Path, coordinate: str, node: Node
    ) -> Any:
        """A variable's JSON value where ``type_`` is expected, with its strings in NFC.

        Recursion follows the input types (none of them contains itself), so its depth is
        bounded by the schema; anything deeper sits at a scalar and is walked by clean_json.
        """
        nullable = get_nullable_type(type_)
        if value is None:
            return None
        if isinstance(nullable, GraphQLList):
            if isinstance(value, list):
                return [
                    self._raw(item, nullable.of_type, [*path, i], coordinate, node)
                    for i, item in enumerate(value)
                ]
            return self._raw(value, nullable.of_type, path, coordinate, node)
        if isinstance(nullable, GraphQLInputObjectType) and isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                definition = nullable.fields.get(key)
                if definition is None:  # refused by coercion; its message must be clean text
                    reason = problem(key)
                    if reason is not None:
                        self._refuse(f"has a key that {reason}", path, node)
                        continue
                    out[key] = self._leaf(item, _Rule(False, False), [*path, key], node)
                else:
                    out[key] = self._raw(
                        item, definition.type, [*path, key], f"{nullable.name}.{key}", node
                    )
            return out
        return self._leaf(value, _leaf_rule(coordinate, get_named_type(type_)), path, node)

    def _leaf(self, value: Any, rule: _Rule, path: Path, node: Node) -> Any:
        try:
            return clean_json(value, multiline=rule.multiline, normalised=rule.normalised)
        except TextRefused as refused:
            for refusal in refused.refusals:
                code = INVALID_TEXT if refusal.text else "INVALID_JSON"
                self._refuse(refusal.reason, [*path, *refusal.path], node, code)
            return value

    def _refuse(self, reason: str, path: Path, node: Node, code: str = INVALID_TEXT) -> None:
        if len(self.errors) < MAX_TEXT_ERRORS:
            self.errors.append(
                GraphQLError(reason, nodes=node, path=path, extensions={"code": code})
            )

    def normalised_document(self) -> DocumentNode:
        """The document with its string literals in NFC (itself when none needed it)."""
        if not self._literals:
            return self.document
        literals = self._literals

        class _Normalise(Visitor):
            def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
                found = literals.get(id(node))
                if found is None:
                    return None
                return StringValueNode(value=found[1], block=node.block, loc=node.loc)

        result: DocumentNode = visit(self.document, _Normalise())
        return result
