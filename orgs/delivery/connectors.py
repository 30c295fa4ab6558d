"""The connector interface on the domain side: which kinds exist and what a valid config is.

Each kind has a pure check of its config and secrets (no network) and names the URL field
the connector will contact; :func:`check` adds the outbound guard's address policy
(orgs/delivery/outbound.py) to those fields. The implementations that speak each tool's API
(``deliver``) live in ``workers/connectors/<kind>.py`` and run the same pure check before
every delivery.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from orgs.delivery.outbound import (
    InvalidTarget,
    OutboundGuard,
    TargetNotAllowed,
    literal_address,
    normalise_host,
    url_host,
)
from orgs.models import ConnectorKind

NOT_PUBLIC = "Only hosts on the public internet can be reached from the hub"


@dataclass(frozen=True)
class ConfigProblem:
    """A configuration mistake the org can fix (``field`` is a key of config or secrets)."""

    field: str
    code: str
    message: str


Check = Callable[[Mapping[str, Any], Mapping[str, Any]], list[ConfigProblem]]


@dataclass(frozen=True)
class Kind:
    """One connector kind: its pure config check and where it sends."""

    check: Check
    #: ``(field, host, port)`` of every host the org chose for the connector to contact
    #: (InvalidTarget when its URL is malformed, which ``check`` reports)
    targets: Callable[[Mapping[str, Any], Mapping[str, Any]], list[tuple[str, str, int]]]


HTTP = ("http", "https")
SMTP = ("smtp", "smtps")


def _url_problem(
    field: str, url: str, schemes: tuple[str, ...], needed: str
) -> ConfigProblem | None:
    try:
        url_host(url, schemes=schemes)
    except InvalidTarget as exc:
        return ConfigProblem(field, "INVALID_URL", f"{needed}: {exc}")
    return None


def _problems(*found: ConfigProblem | None) -> list[ConfigProblem]:
    return [p for p in found if p is not None]


# --- webhook -------------------------------------------------------------------------------


def valid_webhook_secret(secret: object) -> bool:
    """``whsec_<base64>`` of at least 16 bytes (Standard Webhooks)."""
    if not isinstance(secret, str) or not secret.startswith("whsec_"):
        return False
    try:
        return len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) >= 16
    except ValueError:
        return False


def check_webhook(config: Mapping[str, Any], secrets: Mapping[str, Any]) -> list[ConfigProblem]:
    problems = _problems(
        _url_problem("url", str(config.get("url", "")), HTTP, "An http(s) URL is required")
    )
    keys = secrets.get("secrets") or []
    if not isinstance(keys, list) or not keys or not all(valid_webhook_secret(k) for k in keys):
        problems.append(
            ConfigProblem("secrets", "INVALID_SECRET", "Secrets look like whsec_<base64>")
        )
    return problems


# --- Mailchimp -----------------------------------------------------------------------------

MAILCHIMP_KEY = re.compile(r"^[0-9a-f]{32}-[a-z]{2,4}\d{1,3}$")


def check_mailchimp(config: Mapping[str, Any], secrets: Mapping[str, Any]) -> list[ConfigProblem]:
    problems = []
    if not re.fullmatch(r"[0-9a-z]{4,20}", str(config.get("listId", ""))):
        problems.append(ConfigProblem("listId", "INVALID_LIST", "The audience id is needed"))
    if not MAILCHIMP_KEY.match(str(secrets.get("apiKey", ""))):
        problems.append(
            ConfigProblem("apiKey", "INVALID_KEY", "An API key looks like <32 hex>-us6")
        )
    if config.get("baseUrl"):
        problems += _problems(
            _url_problem("baseUrl", str(config["baseUrl"]), HTTP, "The API's URL is not valid")
        )
    return problems


# --- Action Network ------------------------------------------------------------------------


def check_actionnetwork(
    config: Mapping[str, Any], secrets: Mapping[str, Any]
) -> list[ConfigProblem]:
    problems = []
    if len(str(secrets.get("apiKey", ""))) < 16:
        problems.append(ConfigProblem("apiKey", "INVALID_KEY", "The API key is needed"))
    petition = config.get("petitionId")
    if petition is not None and not str(petition).replace("-", "").isalnum():
        problems.append(ConfigProblem("petitionId", "INVALID_ID", "Not a petition id"))
    if config.get("baseUrl"):
        problems += _problems(
            _url_problem("baseUrl", str(config["baseUrl"]), HTTP, "The API's URL is not valid")
        )
    return problems


# --- CiviCRM -------------------------------------------------------------------------------


def check_civicrm(config: Mapping[str, Any], secrets: Mapping[str, Any]) -> list[ConfigProblem]:
    problems = _problems(
        _url_problem("baseUrl", str(config.get("baseUrl", "")), HTTP, "The site's URL is needed")
    )
    if len(str(secrets.get("apiKey", ""))) < 8:
        problems.append(ConfigProblem("apiKey", "INVALID_KEY", "The API key is needed"))
    group = config.get("groupId")
    if group is not None and not str(group).isdigit():
        problems.append(ConfigProblem("groupId", "INVALID_ID", "A group id is a number"))
    return problems


# --- SMTP ----------------------------------------------------------------------------------


def smtp_url(config: Mapping[str, Any], secrets: Mapping[str, Any]) -> str:
    """The org's mail server URL (kept in the secrets; the config is accepted too)."""
    return str(secrets.get("url") or config.get("url") or "")


def smtp_host(url: str) -> tuple[str, int]:
    """Host and port of ``smtp[s]://user:pass@host:port``, read as workers/mail.py reads it.

    InvalidTarget when it is not such a URL; the credentials may hold any (encoded) text.
    """
    if any(c == "\\" or c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidTarget("the URL contains spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidTarget("not a valid URL") from None
    if parts.scheme not in SMTP or not parts.hostname:
        raise InvalidTarget("an smtp:// or smtps:// URL is required")
    literal_address(parts.hostname)
    return normalise_host(parts.hostname), port or (465 if parts.scheme == "smtps" else 25)


def check_smtp(config: Mapping[str, Any], secrets: Mapping[str, Any]) -> list[ConfigProblem]:
    try:
        smtp_host(smtp_url(config, secrets))
    except InvalidTarget:
        return [ConfigProblem("url", "INVALID_URL", "smtp://user:pass@host:port")]
    return []


def _http_target(config: Mapping[str, Any], field: str) -> list[tuple[str, str, int]]:
    value = config.get(field)
    return [(field, *url_host(str(value)))] if value else []


KINDS: dict[str, Kind] = {
    ConnectorKind.WEBHOOK.value: Kind(check_webhook, lambda c, s: _http_target(c, "url")),
    ConnectorKind.MAILCHIMP.value: Kind(check_mailchimp, lambda c, s: _http_target(c, "baseUrl")),
    ConnectorKind.ACTION_NETWORK.value: Kind(
        check_actionnetwork, lambda c, s: _http_target(c, "baseUrl")
    ),
    ConnectorKind.CIVICRM.value: Kind(check_civicrm, lambda c, s: _http_target(c, "baseUrl")),
    ConnectorKind.SMTP.value: Kind(check_smtp, lambda c, s: [("url", *smtp_host(smtp_url(c, s)))]),
}


def check_config(
    kind: str, config: Mapping[str, Any], secrets: Mapping[str, Any]
) -> list[ConfigProblem]:
    """The pure check of ``kind`` (KeyError for an unknown kind); no network."""
    return KINDS[kind].check(config, secrets)


async def check(
    kind: str, config: Mapping[str, Any], secrets: Mapping[str, Any], guard: OutboundGuard
) -> list[ConfigProblem]:
    """Everything wrong with a configuration, before it is saved.

    The pure check, then the outbound guard on every host the connector will contact: a
    literal non-public address, ``localhost`` or a name resolving to a non-public address is
    a problem on that URL's field (DNS with a short time limit, off the event loop).
    """
    spec = KINDS[kind]
    problems = spec.check(config, secrets)
    broken = {p.field for p in problems}
    try:
        targets = spec.targets(config, secrets)
    except InvalidTarget:  # a malformed URL, reported by the pure check already
        targets = []
    for field, host, port in targets:
        if field in broken:
            continue
        try:
            await guard.check_host(host, port)
        except TargetNotAllowed:
            problems.append(ConfigProblem(field, "NOT_ALLOWED", NOT_PUBLIC))
        except InvalidTarget as exc:
            problems.append(ConfigProblem(field, "INVALID_URL", str(exc)))
    return problems
