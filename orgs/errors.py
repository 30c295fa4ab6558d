"""User-fixable outcomes of management operations, reported as data (STYLE: errors).

A service raises :class:`DomainError` (or a subclass) with the input path of the problem, a
code from an enum the service defines once, and a message for people. The GraphQL layer turns
it into ``<Op>Errors { errors { field code message } }``; bugs stay exceptions and are masked.
"""

from __future__ import annotations

from enum import StrEnum


class DomainError(Exception):
    """One or more problems with a request; nothing was changed."""

    def __init__(self, field: str | tuple[str, ...], code: StrEnum, message: str) -> None:
        super().__init__(message)
        path = (field,) if isinstance(field, str) else tuple(field)
        self.problems: list[Problem] = [Problem(("input", *path), code, message)]

    @classmethod
    def of(cls, problems: list[Problem]) -> DomainError:
        """Several problems at once (validation reports them all)."""
        assert problems
        first = problems[0]
        error = cls(first.field[1:], first.code, first.message)
        error.problems = list(problems)
        return error

    @property
    def field(self) -> tuple[str, ...]:
        return self.problems[0].field

    @property
    def code(self) -> StrEnum:
        return self.problems[0].code

    @property
    def message(self) -> str:
        return self.problems[0].message


class Problem:
    """One problem: ``field`` is the input path (``("input", "name")``)."""

    __slots__ = ("code", "field", "message")

    def __init__(self, field: tuple[str, ...], code: StrEnum, message: str) -> None:
        self.field = field
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"Problem({'.'.join(self.field)}, {self.code.value})"
