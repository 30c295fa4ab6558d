"""One error style for every management mutation (STYLE: errors), generated per operation.

``operation("AddCampaign", CoalitionError, campaign=Campaign)`` makes the three types an
operation answers: ``AddCampaignSuccess {campaign}``, ``AddCampaignErrors {errors}`` and the
union ``AddCampaignResult``. :func:`respond` turns the outcome of
``resolvers.outcome.attempt`` into one of them: a :class:`orgs.errors.DomainError` becomes the
Errors type, every problem with its input path (``field``), the service's own code and a
message. Bugs stay exceptions (masked).
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, TypeVar, Union

import strawberry

from orgs.errors import DomainError, Problem

T = TypeVar("T")


def field_error(name: str, codes: type[StrEnum], description: str) -> Any:
    """The GraphQL error type of one service: ``{field: [String!], code: <codes>, message}``.

    ``codes`` is the service's own enum, exposed as is (no copy in schema/).
    """
    exposed = strawberry.enum(codes, name=f"{name}Code")
    cls = type(
        name,
        (),
        {
            "__annotations__": {"field": list[str], "code": exposed, "message": str},
            "__doc__": description,
        },
    )
    return strawberry.type(cls, description=description)


@dataclass(frozen=True)
class Operation:
    success: Any
    errors: Any
    result: Any
    error: Any

    def failed(self, problems: list[Problem]) -> Any:
        shown = [self.error(field=list(p.field), code=p.code, message=p.message) for p in problems]
        return self.errors(errors=shown)


def operation(name: str, error: Any, **fields: Any) -> Operation:
    """The Success, Errors and Result types of the mutation ``name``."""
    success: Any = strawberry.type(type(f"{name}Success", (), {"__annotations__": dict(fields)}))
    listed = {"__annotations__": {"errors": list[error]}}
    errors: Any = strawberry.type(type(f"{name}Errors", (), listed))
    result: Any = Annotated[Union[success, errors], strawberry.union(f"{name}Result")]  # noqa: UP007
    return Operation(success, errors, result, error)


def respond(op: Operation, outcome: T | DomainError, success: Callable[[T], Any]) -> Any:
    """The Success built from a service's result, or the Errors of its problems."""
    if isinstance(outcome, DomainError):
        return op.failed(outcome.problems)
    return success(outcome)
