"""The one gate for text from outside: refuse what the database cannot hold, NFC the rest.

Refused anywhere: NUL (PostgreSQL refuses ``\\u0000`` in text and jsonb), any code point
U+D800-U+DFFF (a lone surrogate cannot be encoded as UTF-8, so it breaks the row's next
export or delivery), and the C0/C1 control characters and DEL. One-line text (names,
emails, slugs, tracking fields) refuses every control character; multi-line text (comments,
messages, mail bodies) keeps tab, line feed and carriage return. Accepted text is returned
in Unicode normalisation form C, so the same name typed on two keyboards is stored, compared
and fingerprinted as one string.

Pure functions: no database, importable from ``orgs/``, ``schema/`` and ``hub/``. Messages
never repeat the text itself (it may be personal data and end up in a log).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

# C0 controls, DEL, C1 controls, and the surrogate block.
_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same, but tab, line feed and carriage return are allowed.
_MULTI_LINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Refusal:
    """Why one string was refused; ``path`` locates it inside a JSON value (``()`` if plain)."""

    path: JsonPath
    reason: str  # e.g. "contains a NUL character"; never the text itself
    text: bool = True  # False: not text but a number JSON cannot hold (NaN, Infinity)


class TextRefused(ValueError):
    """The value holds text the gate refuses; ``refusals`` lists every offending string."""

    def __init__(self, refusals: list[Refusal]) -> None:
        super().__init__("; ".join(_describe(r) for r in refusals))
        self.refusals = tuple(refusals)


def _describe(refusal: Refusal) -> str:
    where = ".".join(str(part) for part in refusal.path)
    return f"{where}: {refusal.reason}" if where else refusal.reason


def problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` is refused, or None when it is acceptable (normalisation aside)."""
    found = (_MULTI_LINE if multiline else _ONE_LINE).search(value)
    if found is None:
        return None
    char = ord(found.group())
    if char == 0:
        return "contains a NUL character"
    if 0xD800 <= char <= 0xDFFF:
        return "contains an invalid character (a lone surrogate)"
    return f"contains a control character (U+{char:04X})"


def normalise(value: str) -> str:
    """``value`` in NFC; the common all-ASCII case costs one scan and no copy."""
    if value.isascii():
        return value
    return unicodedata.normalize("NFC", value)


def clean_text(value: str, *, multiline: bool = False) -> str:
    """``value`` in NFC, or :class:`TextRefused` when it holds a refused character.

    Guarantee: a returned string contains no NUL, no surrogate code point and no control
    character other than (with ``multiline``) tab, line feed and carriage return.
    """
    reason = problem(value, multiline=multiline)
    if reason is not None:
        raise TextRefused([Refusal((), reason)])
    return normalise(value)


def clean_json(value: Any, *, multiline: bool = True, normalised: bool = True) -> Any:
    """A copy of the JSON ``value`` with every key and string value checked and normalised.

    Keys are one-line text; string values follow ``multiline`` (by default they may hold
    line breaks: custom fields carry comments). Numbers must be finite (jsonb has no NaN).
    ``normalised=False`` checks without rewriting (secrets, where the exact bytes matter).
    Raises :class:`TextRefused` listing every offending key or value, with its path.
    Nesting is walked with an explicit stack, so a deep value cannot exhaust the call stack.
    """
    refusals: list[Refusal] = []
    holder: list[Any] = [None]
    # (container to write into, key in it, the value to copy, its path)
    stack: list[tuple[Any, Any, Any, JsonPath]] = [(holder, 0, value, ())]
    while stack:
        parent, key, item, path = stack.pop()
        if isinstance(item, str):
            reason = problem(item, multiline=multiline)
            if reason is not None:
                refusals.append(Refusal(path, reason))
            parent[key] = normalise(item) if normalised and reason is None else item
        elif isinstance(item, dict):
            copy: dict[Any, Any] = {}
            parent[key] = copy
            children = []
            for name, child in item.items():
                new_name = name
                if isinstance(name, str):
                    reason = problem(name)
                    if reason is not None:
                        # the path stops at the object: a refused key is never repeated
                        refusals.append(Refusal(path, f"has a key that {reason}"))
                        continue
                    if normalised:
                        new_name = normalise(name)
                    if new_name in copy:
                        refusals.append(Refusal(path, "has two keys that are equal in NFC"))
                        continue
                copy[new_name] = None
                children.append((copy, new_name, child, (*path, new_name)))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            items: list[Any] = [None] * len(item)
            parent[key] = items
            stack.extend(
                (items, index, child, (*path, index))
                for index, child in reversed(list(enumerate(item)))
            )
        else:
            if isinstance(item, float) and not math.isfinite(item):
                refusals.append(Refusal(path, "is not a finite number", text=False))
            parent[key] = item
    if refusals:
        raise TextRefused(refusals)
    return holder[0]
