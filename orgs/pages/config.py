"""A page's widget config, checked against the ONE schema the widget itself uses.

``widget/config.schema.json`` is served at ``/widget.schema.json`` and validates every config
the management API saves, so a config the hub accepts is one the widget renders. Mail
templates and the page's other hub-side settings are columns of the page, not config keys.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from jsonschema import Draft202012Validator

from orgs.mail import PAGE_KINDS

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "widget" / "config.schema.json"
MAIL_KINDS = PAGE_KINDS
TEMPLATE_PARTS = ("subject", "text", "html")
MAX_TEMPLATE = 20_000
_jinja = SandboxedEnvironment()


@lru_cache(maxsize=1)
def config_schema() -> dict[str, Any]:
    """The JSON Schema that action page configs are validated against."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text("utf-8"))
    return loaded


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(config_schema())


def config_problems(config: Any) -> list[tuple[tuple[str, ...], str]]:
    """(path under ``config``, message) of every way ``config`` breaks the widget's schema."""
    problems = []
    for error in sorted(_validator().iter_errors(config), key=lambda e: list(e.absolute_path)):
        path = tuple(str(p) for p in error.absolute_path)
        # the schema's own wording without the offending value (no echo of input)
        message = {
            "additionalProperties": "unknown key",
            "type": f"must be of type {error.validator_value}",
            "enum": "not one of the allowed values",
            "pattern": "does not have the expected format",
            "maxLength": f"at most {error.validator_value} characters",
            "maxItems": f"at most {error.validator_value} items",
            "minimum": f"at least {error.validator_value}",
            "maximum": f"at most {error.validator_value}",
            "required": "a required key is missing",
        }.get(str(error.validator), "is not valid here")
        if error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            path = (*path, *extra[:1])
        problems.append((path, message))
    return problems


def template_problems(templates: Any) -> list[tuple[tuple[str, ...], str]]:
    """Problems of per-locale mail templates ``{locale: {kind: {subject, text, html}}}``."""
    if not isinstance(templates, dict):
        return [((), "must be an object of locales")]
    problems: list[tuple[tuple[str, ...], str]] = []
    for locale, kinds in templates.items():
        if not isinstance(kinds, dict):
            problems.append(((locale,), "must be an object of mail kinds"))
            continue
        for kind, parts in kinds.items():
            if kind not in MAIL_KINDS:
                problems.append(((locale, kind), f"a mail kind: {', '.join(MAIL_KINDS)}"))
                continue
            if not isinstance(parts, dict):
                problems.append(((locale, kind), "must be an object with subject, text, html"))
                continue
            for part, value in parts.items():
                where = (locale, kind, part)
                if part not in TEMPLATE_PARTS:
                    problems.append((where, "unknown part (subject, text, html)"))
                elif not isinstance(value, str) or len(value) > MAX_TEMPLATE:
                    problems.append((where, f"a string of at most {MAX_TEMPLATE} characters"))
                else:
                    try:
                        _jinja.parse(value)
                    except TemplateSyntaxError as error:
                        problems.append((where, f"template syntax error on line {error.lineno}"))
    return problems
