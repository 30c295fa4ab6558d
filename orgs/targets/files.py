"""Target lists as files (``coalition-hub targets import FILE.csv|json``): parsed into the same
inputs as ``upsertTargets``, so one set of rules checks both (orgs/targets/service.py).

JSON: a list of targets, or ``{"targets": [...]}``; each target as ``upsertTargets`` takes it
(``externalId``, ``name``, ``area``, ``locale``, ``fields``, ``postcodes``, ``emails`` as
addresses or ``{"email", "status"}`` objects, ``active``), the shape Proca's target files use.

CSV (UTF-8, a header row): ``external_id`` (or ``externalId``, ``id``), ``name``, ``area``,
``locale``, ``emails`` (or ``email``; several separated by ``;``, ``,`` or spaces),
``postcodes`` (the same), ``active`` (true/false); every other column is a free field
(``party``, ``role``, ``photo``...). Empty cells are left out.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from typing import Any

from orgs.models import TargetEmailStatus
from orgs.targets.service import EmailInput, TargetInput

MAX_FILE_BYTES = 10 * 1024 * 1024
_SPLIT = re.compile(r"[;,\s]+")
_ID_COLUMNS = ("external_id", "externalid", "id", "procaid")
_KNOWN = {"name", "area", "locale", "emails", "email", "postcodes", "postcode", "active"}


class FileProblem(ValueError):
    """The file cannot be read as a target list (the message says where)."""


def parse(name: str, data: bytes) -> tuple[list[TargetInput], Callable[[int], str]]:
    """The targets of a ``.csv`` or ``.json`` file, and how to name target ``i`` in messages
    (``line 3`` of a CSV file, ``target 2`` of a JSON one)."""
    if len(data) > MAX_FILE_BYTES:
        raise FileProblem(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(f"the file is not UTF-8 (byte {exc.start})") from None
    lowered = name.lower()
    if lowered.endswith(".json"):
        return _json(content), lambda i: f"target {i + 1}"
    if lowered.endswith(".csv"):
        return _csv(content), lambda i: f"line {i + 2}"
    raise FileProblem("a .csv or .json file")


def _words(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        return [v for v in _SPLIT.split(value) if v]
    return []


def _emails(value: Any, where: str) -> list[EmailInput] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else _words(value)
    out: list[EmailInput] = []
    for item in items:
        if isinstance(item, dict):
            status = item.get("status")
            try:
                wanted = TargetEmailStatus(str(status).lower()) if status else None
            except ValueError:
                raise FileProblem(f"{where}: status is active or disabled") from None
            out.append(EmailInput(str(item.get("email") or ""), wanted))
        else:
            out.append(EmailInput(str(item).strip()))
    return out


def _flag(value: Any, where: str) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise FileProblem(f"{where}: active is true or false")


def _json(content: str) -> list[TargetInput]:
    try:
        document = json.loads(content)
    except json.JSONDecodeError as exc:
        raise FileProblem(f"not JSON (line {exc.lineno}: {exc.msg})") from None
    if isinstance(document, dict) and "targets" in document:
        document = document["targets"]
    if not isinstance(document, list):
        raise FileProblem("a list of targets, or an object with a list under targets")
    out = []
    for i, item in enumerate(document):
        where = f"target {i + 1}"
        if not isinstance(item, dict):
            raise FileProblem(f"{where}: an object")
        external = item.get("externalId", item.get("external_id", item.get("id")))
        out.append(
            TargetInput(
                external_id=str(external or ""),
                name=str(item.get("name") or ""),
                area=_text(item.get("area")),
                locale=_text(item.get("locale")),
                fields=item.get("fields"),
                postcodes=_words(item["postcodes"]) if "postcodes" in item else None,
                emails=_emails(item.get("emails", item.get("email")), where),
                active=_flag(item.get("active"), where),
            )
        )
    return out


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int | float) and str(value).strip() else None


def _csv(content: str) -> list[TargetInput]:
    reader = csv.DictReader(io.StringIO(content, newline=""))
    columns = [c.strip() for c in reader.fieldnames or []]
    if not columns:
        raise FileProblem("a header row (external_id, name, emails, ...)")
    lowered = [c.lower() for c in columns]
    id_column = next((columns[lowered.index(c)] for c in _ID_COLUMNS if c in lowered), None)
    if id_column is None or "name" not in lowered:
        raise FileProblem("the header must name the external_id and name columns")
    out = []
    for n, raw in enumerate(reader):
        where = f"line {n + 2}"
        if None in raw:
            raise FileProblem(f"{where}: more cells than the header has columns")
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        by_lower = {k.lower(): v for k, v in row.items()}
        fields = {
            k: v
            for k, v in row.items()
            if v and k != id_column and k.lower() not in _KNOWN and k.lower() not in _ID_COLUMNS
        }
        emails = by_lower.get("emails") or by_lower.get("email")
        postcodes = by_lower.get("postcodes") or by_lower.get("postcode")
        out.append(
            TargetInput(
                external_id=row.get(id_column, ""),
                name=by_lower.get("name", ""),
                area=by_lower.get("area") or None,
                locale=by_lower.get("locale") or None,
                fields=fields,
                postcodes=_words(postcodes) if postcodes else None,
                emails=_emails(emails, where) if emails else None,
                active=_flag(by_lower.get("active"), where),
            )
        )
    return out
