"""Connector implementations: how a delivery reaches one organisation's tool.

A connector is one module in this package exposing a :class:`Connector` instance registered
with :func:`register`; its kind and config check are declared in orgs/delivery/connectors.py
(the domain side, used when a connector is added). The pipeline (workers/pipeline.py) loads
the Delivery row, builds the versioned payload (orgs/delivery/payload.py, documented in
docs/delivery.md), decrypts the connector's secrets and calls ``deliver`` with the guarded
HTTP client (workers/connectors/transport.py); the connector speaks its tool's API and
classifies failures with :class:`PermanentFailure` (never retried) or
:class:`RetryableFailure` (retried on the backoff schedule). Connectors never touch the
database.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from orgs.delivery import connectors as kinds
from orgs.delivery.outbound import NOT_ALLOWED, TargetNotAllowed
from workers.connectors.transport import GuardedClient

#: The delivery payload (version 1), a JSON object; see docs/delivery.md.
Payload = Mapping[str, Any]


@dataclass(frozen=True)
class ConnectorTarget:
    """One configured connector of one organisation, secrets already decrypted."""

    id: int
    org_id: int
    org_name: str
    kind: str
    name: str
    config: Mapping[str, Any]
    secrets: Mapping[str, Any] = field(repr=False)
    public_key: str | None = None
    #: its config already passed its kind's check (the pipeline checks once per batch)
    config_checked: bool = False


class DeliveryFailure(Exception):
    """A delivery attempt did not succeed. The message is shown to the org: no personal data."""


class PermanentFailure(DeliveryFailure):
    """Can never succeed as configured (4xx other than 408/429, bad credentials, bad config)."""


class RetryableFailure(DeliveryFailure):
    """May succeed later (timeouts, 5xx, 408, 429). ``retry_after`` in seconds when known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotYet(Exception):
    """Not to be sent now (outside its sending window, over its target's cap): due again at
    ``until``, without counting an attempt."""

    def __init__(self, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.until = until


class Held(Exception):
    """To be held (status ``held``) until someone releases it: the campaign is paused."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Connector(Protocol):
    """What a connector module provides."""

    kind: str

    def deliver(self, target: ConnectorTarget, payload: Payload, http: httpx.Client) -> str | None:
        """Deliver one event; return the tool's id for the record when it gives one.

        Must be idempotent for the same ``payload["deliveryId"]``: a retry after a timeout may
        repeat a request that had in fact succeeded.
        """
        ...


_REGISTRY: dict[str, Connector] = {}


def register(connector: Connector) -> Connector:
    """Add a connector under its ``kind``; a module calls this at import."""
    if connector.kind in _REGISTRY:
        raise ValueError(f"connector kind {connector.kind!r} registered twice")
    _REGISTRY[connector.kind] = connector
    return connector


def communication_consent(payload: Payload) -> bool:
    """Whether the supporter gave (and did not withdraw) communication consent to the org."""
    return any(
        c.get("purpose") == "communication" and c.get("given") for c in payload.get("consents", [])
    )


def connector_for(kind: str) -> Connector:
    """The connector for ``kind`` (module ``workers.connectors.<kind>``, imported on first use).

    PermanentFailure when there is none (an unknown kind, or SMTP: mail is sent by
    workers/mail.py).
    """
    if kind not in _REGISTRY and kind in kinds.KINDS:
        with contextlib.suppress(ImportError):
            importlib.import_module(f"workers.connectors.{kind}")
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise PermanentFailure(f"no connector for kind {kind!r}") from None


def check_response(response: httpx.Response, *, what: str) -> httpx.Response:
    """Classify an HTTP answer the same way for every connector.

    2xx passes; 408, 429 and 5xx are retryable (honouring ``Retry-After``); any other status
    is permanent. The message names the tool and status only, never the body's personal data.
    """
    status = response.status_code
    if 200 <= status < 300:
        return response
    message = f"{what} answered HTTP {status}"
    if status in (408, 429) or status >= 500:
        raise RetryableFailure(message, retry_after=_retry_after(response))
    raise PermanentFailure(message)


def config_passes(kind: str, config: Mapping[str, Any], secrets: Mapping[str, Any]) -> bool:
    """Whether a known kind's config passes its pure check (as when it was saved)."""
    return kind in kinds.KINDS and not kinds.check_config(kind, config, secrets)


def configured(target: ConnectorTarget) -> None:
    """PermanentFailure unless the target's config passes its kind's check (as when saved)."""
    if not (target.config_checked or config_passes(target.kind, target.config, target.secrets)):
        raise PermanentFailure(f"the {target.kind} connector is not configured correctly")


def send(http: httpx.Client, request: httpx.Request, *, what: str) -> httpx.Response:
    """Send ``request`` through the outbound guard; network errors become retryable.

    Only a :class:`GuardedClient` is accepted, so every connector's requests go to checked,
    pinned addresses without redirects. A refused target is a PermanentFailure saying only
    that it is not allowed: nothing about the address or whether it answers.
    """
    if not isinstance(http, GuardedClient):
        raise TypeError("connectors send through workers.connectors.transport.GuardedClient")
    return _guarded(lambda: http.send(request, follow_redirects=False), what)


def post(
    http: httpx.Client, url: str, content: bytes, headers: Mapping[str, str], *, what: str
) -> httpx.Response:
    """POST ``content`` through the outbound guard like :func:`send` (the same checks, the
    same failures), through :meth:`GuardedClient.post_bytes` (libcurl): a fifth of the CPU,
    for the connectors that send at volume (webhooks)."""
    if not isinstance(http, GuardedClient):
        raise TypeError("connectors send through workers.connectors.transport.GuardedClient")
    if not url.isascii():  # an internationalised host name: httpx's URL model encodes it
        request = http.build_request("POST", url, content=content, headers=headers)
        return send(http, request, what=what)
    return _guarded(lambda: http.post_bytes(url, content, headers), what)


def _guarded(call: Callable[[], httpx.Response], what: str) -> httpx.Response:
    """One request's failures as deliveries know them; the answer checked."""
    try:
        response = call()
    except TargetNotAllowed:
        raise PermanentFailure(NOT_ALLOWED) from None
    except httpx.TimeoutException:
        raise RetryableFailure(f"{what} timed out") from None
    except httpx.TransportError as exc:
        raise RetryableFailure(f"{what} unreachable: {type(exc).__name__}") from None
    return check_response(response, what=what)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
