"""Custom scalars."""

from __future__ import annotations

from typing import Any, NewType

from strawberry import scalar

# Proca's widgets declare `Json` in their variables; the value passes through as JSON.
JsonValue = NewType("JsonValue", object)

Json = scalar(
    name="Json",
    description="Any JSON value.",
    serialize=lambda value: value,
    parse_value=lambda value: value,
)

__all__ = ["Any", "Json", "JsonValue"]
