"""Limits on GraphQL documents: their size before parsing, then their cost in one linear pass.

A document's cost is measured by ``CostLimitRule``, a validation rule, so the validation
cache (``DocumentValidation``) keeps its verdict with the rest of the validation: it is
computed once per distinct document. The measure never expands fragments: each definition
(operation or fragment) is walked once, each fragment's total is computed once from the
totals of the fragments it spreads, and every spread reuses it. A fragment bomb (each level
spreading the next twice) costs as many steps as it has characters, while its expanded size,
2**levels, is what gets compared with the budget.

Large documents are parsed and validated in a worker thread: the event loop keeps serving
other requests (``/healthz`` among them) while one is being looked at.

Every definition counts, whichever operation is executed: validation visits them all.

Over budget, the rule stops the whole validation at the document node, before graphql-core's
own rules (some quadratic in the number of fields) see the rest of it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    ValidationRule,
    parse,
)
from graphql.language.visitor import SKIP, VisitorAction
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

TOO_COMPLEX = "QUERY_TOO_COMPLEX"
TOO_LARGE = "QUERY_TOO_LARGE"

# Fallbacks when the context carries no settings (hub/settings.py has the same defaults).
DEFAULT_MAX_DOCUMENT_BYTES = 16 * 1024
DEFAULT_MAX_TOKENS = 4000

INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
_SATURATED = 1 << 62  # counts stop growing here: a bomb's 2**40 needs no big integers


@dataclass(frozen=True)
class Budget:
    """What one document may cost.

    ``fields`` counts field selections as executed: a fragment counts each time it is spread
    (``spreads`` counts those spreads the same way; graphql-core compares the fields of every
    two fragments spread side by side, so many spreads cost more than their fields).
    ``complexity`` is the same count where everything below a list field weighs
    ``list_factor`` times (twice nested lists: ``list_factor**2``). Fields below ``__schema``
    and ``__type`` have their own budgets, sized for the standard introspection query
    (graphql-core's ``get_introspection_query``: depth 14, about 220 fields, complexity
    about 51,000); only callers allowed to introspect get that far (schema/introspection.py).
    """

    depth: int = 15
    aliases: int = 30
    directives: int = 50
    spreads: int = 50
    fields: int = 200
    complexity: int = 2_000
    introspection_fields: int = 500
    introspection_complexity: int = 100_000
    list_factor: int = 10


BUDGET = Budget()

_MESSAGES = {
    "depth": "The query nests fields more than {} levels deep.",
    "aliases": "The query uses more than {} aliases.",
    "directives": "The query uses more than {} directives.",
    "spreads": "The query spreads fragments more than {} times (counted as executed).",
    "fields": "The query selects more than {} fields (a fragment counts each time it is spread).",
    "complexity": "The query is too complex: its estimated cost is over {}.",
    "introspection_fields": "The introspection query selects more than {} fields.",
    "introspection_complexity": "The introspection query is too complex: its cost is over {}.",
}


class Cost:
    """The measures of one definition, or of a whole document."""

    __slots__ = (
        "aliases",
        "complexity",
        "depth",
        "directives",
        "fields",
        "introspection_complexity",
        "introspection_fields",
        "spreads",
    )

    def __init__(self) -> None:
        self.depth = 0
        self.aliases = 0
        self.directives = 0
        self.spreads = 0
        self.fields = 0
        self.complexity = 0
        self.introspection_fields = 0
        self.introspection_complexity = 0

    def copy(self) -> Cost:
        other = Cost()
        for name in self.__slots__:
            setattr(other, name, getattr(self, name))
        return other

    def add(
        self, other: Cost, *, offset: int = 0, weight: int = 1, introspection: bool = False
    ) -> None:
        """Add ``other`` as spread ``offset`` levels down, below lists weighing ``weight``."""
        if other.depth:
            self.depth = max(self.depth, offset + other.depth)
        self.aliases = _sat(self.aliases + other.aliases)
        self.directives = _sat(self.directives + other.directives)
        self.spreads = _sat(self.spreads + other.spreads)
        if introspection:  # everything below __schema or __type counts there
            self.introspection_fields = _sat(
                self.introspection_fields + other.fields + other.introspection_fields
            )
            self.introspection_complexity = _sat(
                self.introspection_complexity
                + weight * (other.complexity + other.introspection_complexity)
            )
        else:
            self.fields = _sat(self.fields + other.fields)
            self.introspection_fields = _sat(self.introspection_fields + other.introspection_fields)
            self.complexity = _sat(self.complexity + weight * other.complexity)
            self.introspection_complexity = _sat(
                self.introspection_complexity + weight * other.introspection_complexity
            )

    def exceeded(self, budget: Budget) -> str | None:
        """The first measure over ``budget``, or None."""
        for name in _MESSAGES:
            if getattr(self, name) > getattr(budget, name):
                return name
        return None


def _sat(value: int) -> int:
    return value if value < _SATURATED else _SATURATED


class _Spread(NamedTuple):
    name: str
    offset: int  # levels of fields above the spread, within its definition
    weight: int  # product of the list factors above the spread
    introspection: bool  # below __schema or __type


def _field_type(
    schema: GraphQLSchema, parent: GraphQLNamedType | None, name: str, list_factor: int
) -> tuple[GraphQLNamedType | None, int]:
    """The named type a field returns, and the weight its list wrappers give its selections."""
    if name == "__schema":
        definition = SchemaMetaFieldDef
    elif name == "__type":
        definition = TypeMetaFieldDef
    elif isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        found = parent.fields.get(name)
        if found is None:
            return None, 1  # reported by FieldsOnCorrectTypeRule
        definition = found
    else:
        return None, 1
    of_type: Any = definition.type
    weight = 1
    while isinstance(of_type, GraphQLNonNull | GraphQLList):
        if isinstance(of_type, GraphQLList):
            weight = _sat(weight * list_factor)
        of_type = of_type.of_type
    return of_type, weight


def _measure(
    schema: GraphQLSchema,
    selection_set: SelectionSetNode,
    root: GraphQLNamedType | None,
    list_factor: int,
) -> tuple[Cost, list[_Spread]]:
    """One definition's own cost and its fragment spreads: each node once, no recursion."""
    cost = Cost()
    spreads: list[_Spread] = []
    stack: list[tuple[SelectionSetNode, GraphQLNamedType | None, int, int, bool]] = [
        (selection_set, root, 1, 1, False)
    ]
    while stack:
        selections, parent, level, weight, introspection = stack.pop()
        for node in selections.selections:
            cost.directives += len(node.directives or ())
            if isinstance(node, FieldNode):
                name = node.name.value
                below = introspection or name in INTROSPECTION_ROOTS
                if below:
                    cost.introspection_fields += 1
                    cost.introspection_complexity = _sat(cost.introspection_complexity + weight)
                else:
                    cost.fields += 1
                    cost.complexity = _sat(cost.complexity + weight)
                if node.alias is not None:
                    cost.aliases += 1
                cost.depth = max(cost.depth, level)
                if node.selection_set is not None:
                    child, factor = _field_type(schema, parent, name, list_factor)
                    heavier = _sat(weight * factor)
                    stack.append((node.selection_set, child, level + 1, heavier, below))
            elif isinstance(node, FragmentSpreadNode):
                cost.spreads += 1
                spreads.append(_Spread(node.name.value, level - 1, weight, introspection))
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                inner = schema.get_type(condition.name.value) if condition else parent
                stack.append((node.selection_set, inner, level, weight, introspection))
    return cost, spreads


def _total(own: Cost, spreads: list[_Spread], totals: Mapping[str, Cost]) -> Cost:
    total = own.copy()
    for spread in spreads:
        fragment = totals.get(spread.name)
        if fragment is not None:  # None: unknown, or closing a cycle (other rules report both)
            total.add(
                fragment,
                offset=spread.offset,
                weight=spread.weight,
                introspection=spread.introspection,
            )
    return total


def _fragment_totals(measured: dict[str, tuple[Cost, list[_Spread]]]) -> dict[str, Cost]:
    """Each fragment's cost with its spreads included, computed once per fragment.

    Depth-first over the spreads with an explicit stack (a chain of a thousand fragments
    must not exhaust Python's recursion limit); a spread back onto the current path closes a
    cycle and adds nothing, so cyclic documents end too, even before NoFragmentCyclesRule.
    """
    totals: dict[str, Cost] = {}
    for root in measured:
        if root in totals:
            continue
        path: list[tuple[str, Iterator[_Spread]]] = [(root, iter(measured[root][1]))]
        on_path = {root}
        while path:
            name, pending = path[-1]
            for spread in pending:
                target = spread.name
                if target in measured and target not in totals and target not in on_path:
                    path.append((target, iter(measured[target][1])))
                    on_path.add(target)
                    break
            else:
                path.pop()
                on_path.discard(name)
                totals[name] = _total(*measured[name], totals)
    return totals


def measure_document(
    schema: GraphQLSchema, document: DocumentNode, budget: Budget = BUDGET
) -> Cost:
    """The cost of every executable definition in ``document``, in time linear in its size.

    Depth is the deepest definition; everything else is summed over the operations and the
    fragments no operation spreads (those are validated too).
    """
    roots = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }
    measured: dict[str, tuple[Cost, list[_Spread]]] = {}
    operations: list[tuple[Cost, list[_Spread]]] = []
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            condition = schema.get_type(definition.type_condition.name.value)
            own, spreads = _measure(schema, definition.selection_set, condition, budget.list_factor)
            own.directives += len(definition.directives or ())
            measured.setdefault(definition.name.value, (own, spreads))
        elif isinstance(definition, OperationDefinitionNode):
            root = roots.get(definition.operation)
            own, spreads = _measure(schema, definition.selection_set, root, budget.list_factor)
            own.directives += len(definition.directives or ())
            operations.append((own, spreads))
    totals = _fragment_totals(measured)
    document_cost = Cost()
    reached: set[str] = set()
    for own, spreads in operations:
        document_cost.add(_total(own, spreads, totals))
        _reach(spreads, measured, reached)
    for name, total in totals.items():
        if name not in reached:
            document_cost.add(total)
    return document_cost


def _reach(
    spreads: list[_Spread], measured: dict[str, tuple[Cost, list[_Spread]]], reached: set[str]
) -> None:
    pending = [spread.name for spread in spreads]
    while pending:
        name = pending.pop()
        if name in reached or name not in measured:
            continue
        reached.add(name)
        pending.extend(spread.name for spread in measured[name][1])


class QueryTooComplex(ValidationAbortedError):
    """Raised by the rule so that graphql-core stops validating at once (see ``validate``)."""


class CostLimitRule(ValidationRule):
    """Refuse a document whose cost is over ``BUDGET``, before any other rule walks it.

    The verdict depends on the document alone, so it is cached with the validation.
    """

    budget = BUDGET

    def enter_document(self, node: DocumentNode, *_args: Any) -> VisitorAction:
        exceeded = measure_document(self.context.schema, node, self.budget).exceeded(self.budget)
        if exceeded is not None:
            # graphql-core's validate() ends the visit on a ValidationAbortedError and
            # returns it as the (only) error: the other rules never see this document.
            raise QueryTooComplex(
                _MESSAGES[exceeded].format(getattr(self.budget, exceeded)),
                extensions={
                    "code": TOO_COMPLEX,
                    "limit": exceeded,
                    "maximum": getattr(self.budget, exceeded),
                },
            )
        return SKIP  # measured; nothing left for this rule below the document node


# Built once: the validation cache is keyed by the rules, new classes would never hit it.
COST_RULES: tuple[type[ValidationRule], ...] = (CostLimitRule,)


class CostLimits(SchemaExtension):
    """Put the cost rule first, ahead of graphql-core's rules."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*COST_RULES, *context.validation_rules)
        yield


class _Parsed:
    """A cached document and its validation results by rule set."""

    __slots__ = ("document", "tokens", "validations")

    def __init__(self, document: DocumentNode) -> None:
        self.document = document
        self.tokens = document.token_count
        self.validations: dict[tuple[type[ASTValidationRule], ...], list[GraphQLError]] = {}


class DocumentCache:
    """Parsed documents and their validation, least recently used first out.

    Bounded by tokens, not only entries: a parsed document keeps every token alive (about
    400 bytes each), so 512 documents near the token limit would pin some 600 MB and make
    each full garbage collection stop the process for seconds. Documents over
    ``max_document_tokens`` are never kept: they are rare, and a flood of distinct large
    documents must not evict the small ones every client sends. Locked, since a process
    may run several event loops (tests do).
    """

    def __init__(self, *, max_tokens: int, max_document_tokens: int, max_entries: int) -> None:
        self.max_tokens = max_tokens
        self.max_document_tokens = max_document_tokens
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, int], _Parsed] = OrderedDict()
        self._tokens = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> _Parsed | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple[str, int], document: DocumentNode) -> _Parsed:
        entry = _Parsed(document)
        if entry.tokens > self.max_document_tokens:
            return entry  # used for this request only
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._tokens -= previous.tokens
            self._entries[key] = entry
            self._tokens += entry.tokens
            while self._tokens > self.max_tokens or len(self._entries) > self.max_entries:
                _, evicted = self._entries.popitem(last=False)
                self._tokens -= evicted.tokens
        return entry

    @property
    def tokens(self) -> int:
        return self._tokens

    def __len__(self) -> int:
        return len(self._entries)


# Some 40 MB at most; the widget's documents have about 100 tokens, a dashboard's a few hundred.
DOCUMENTS = DocumentCache(max_tokens=100_000, max_document_tokens=1_000, max_entries=512)

# Documents up to this size parse and validate in about a millisecond: on the event loop.
# Larger ones (up to the byte and token limits, 10-20 ms of parsing) go to a worker thread,
# so the loop keeps serving other requests meanwhile. One thread: the loop then keeps at
# least half of the interpreter lock; more threads would parse no faster (the same lock)
# and leave the loop a smaller share.
INLINE_BYTES = 2048
_workers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="graphql-document")


async def _off_loop(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(_workers, partial(function, *args))


def document_limits(context: Any) -> tuple[int, int]:
    """(bytes, tokens) a document may have, from the request's settings when it has them."""
    settings = getattr(context, "settings", None)
    if settings is None:
        return DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_TOKENS
    return settings.graphql_max_document_bytes, settings.graphql_max_tokens


def _too_long(query: str, max_bytes: int) -> bool:
    if len(query) > max_bytes:
        return True
    return len(query) * 4 > max_bytes and len(query.encode("utf-8", "surrogatepass")) > max_bytes


class DocumentLimits(SchemaExtension):
    """Refuse a document over the byte limit before parsing it; parse within the token limit.

    The byte limit counts the document as sent (whitespace and comments included, which the
    token limit does not see). Parses are cached by document text; a large document is parsed
    off the event loop. (This replaces strawberry's ParserCache and MaxTokensLimiter.)
    """

    async def on_parse(self) -> AsyncIterator[None]:
        context = self.execution_context
        query = context.query
        if query is not None and context.graphql_document is None:
            max_bytes, max_tokens = document_limits(context.context)
            if _too_long(query, max_bytes):
                raise GraphQLError(
                    f"The GraphQL document is larger than {max_bytes} bytes.",
                    extensions={"code": TOO_LARGE, "limit": "bytes", "maximum": max_bytes},
                )
            entry = DOCUMENTS.get((query, max_tokens))
            if entry is None:
                try:
                    if len(query) <= INLINE_BYTES:
                        document = parse(query, max_tokens=max_tokens)
                    else:
                        document = await _off_loop(_parse, query, max_tokens)
                except GraphQLSyntaxError as error:
                    if error.message.endswith(f"more than {max_tokens} tokens. Parsing aborted."):
                        raise GraphQLError(
                            f"The GraphQL document has more than {max_tokens} tokens.",
                            extensions={
                                "code": TOO_LARGE,
                                "limit": "tokens",
                                "maximum": max_tokens,
                            },
                        ) from None
                    raise
                entry = DOCUMENTS.put((query, max_tokens), document)
            context.graphql_document = entry.document
        yield


def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


class DocumentValidation(SchemaExtension):
    """Validate once per cached document and rule set; large documents off the loop.

    This replaces strawberry's ValidationCache, which keys its cache by the parsed document:
    hashing a DocumentNode walks the whole tree on every request, hit or miss (milliseconds
    for a document near the token limit), and its entries keep documents alive that the
    parse cache has let go. Here the results live with the parsed document in
    ``DOCUMENTS``, found by the document's text.
    """

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            rules = tuple(context.validation_rules)
            entry = None
            if context.query is not None:
                _, max_tokens = document_limits(context.context)
                entry = DOCUMENTS.get((context.query, max_tokens))
                if entry is not None and entry.document is not document:
                    entry = None
            errors = entry.validations.get(rules) if entry is not None else None
            if errors is None:
                graphql_schema = context.schema._schema
                if len(context.query or "") <= INLINE_BYTES:
                    errors = validate_document(graphql_schema, document, rules)
                else:
                    errors = await _off_loop(validate_document, graphql_schema, document, rules)
                if entry is not None:
                    entry.validations[rules] = errors
            context.pre_execution_errors = list(errors)
        yield
