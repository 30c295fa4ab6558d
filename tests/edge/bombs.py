"""Hostile GraphQL documents, each small enough to pass the body limit (tests/edge)."""

from __future__ import annotations


def fragment_fan_out(levels: int) -> str:
    """Each fragment spreads the next twice: 2**levels fields once expanded, 2 KB at 40."""
    fragments = [
        f"fragment L{i} on ActionPage {{ ...L{i + 1} ...L{i + 1} id }}" for i in range(levels)
    ]
    fragments.append(f"fragment L{levels} on ActionPage {{ id name }}")
    return "query { actionPage(id: 1) { ...L0 } } " + " ".join(fragments)


def aliases(count: int) -> str:
    return "{ actionPage(id: 1) { " + " ".join(f"secret{i}: id" for i in range(count)) + " } }"


def nesting(levels: int, field: str = "actionPage(id: 1)") -> str:
    return "{ " + f"{field} {{ " * levels + "id" + " }" * levels + " }"


def cyclic_fragments(count: int) -> str:
    """Every fragment spreads every other one (and itself)."""
    spreads = " ".join(f"...C{j}" for j in range(count))
    fragments = " ".join(f"fragment C{i} on ActionPage {{ id {spreads} }}" for i in range(count))
    return f"query {{ actionPage(id: 1) {{ ...C0 }} }} {fragments}"


def string_literal(size: int) -> str:
    return '{ actionPage(name: "' + "A" * size + '") { id } }'


def directives(count: int) -> str:
    return "{ __typename" + " @skip(if: false)" * count + " }"


def operations(count: int) -> str:
    return " ".join(f"query Q{i} {{ __typename }}" for i in range(count))


BOMBS: dict[str, str] = {
    "fragment-fan-out-40": fragment_fan_out(40),
    "aliases-1000": aliases(1000),
    "nesting-60": nesting(60),
    "nesting-1000": nesting(1000, "a"),
    "cyclic-fragments-2": "query { actionPage(id: 1) { ...A } } "
    "fragment A on ActionPage { ...B id } fragment B on ActionPage { ...A name }",
    "cyclic-fragments-40": cyclic_fragments(40),
    "string-literal-15k": string_literal(15_000),
    "string-literal-60k": string_literal(60_000),
    "directives-500": directives(500),
    "operations-500": operations(500),
}
