"""OSDI (Action Network's API v2) for tools that post signatures: docs/osdi.md.

``GET /osdi/v1`` is the API entry point (AEP); ``POST /osdi/v1/petitions/{page}/signatures``
is the record signature helper, authenticated by an org API token in ``OSDI-API-Token`` with
the ``signatures:write`` scope, for that org's pages (orgs/intake/osdi.py maps the body onto
the widget's intake). Answers are HAL+JSON; refusals use the GraphQL error shape of every
other route (``{"errors": [{"message", "path", "extensions": {"code"}}]}``), never echoing
what was sent. The body is bounded by ``HUB_OSDI_MAX_BODY_BYTES`` (hub/bodies.py).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hub import bodies
from hub.db import UnitOfWork
from hub.settings import Settings
from orgs.crypto import Keyring
from orgs.identity.service import authenticate_api_token
from orgs.intake import osdi
from orgs.intake.validation import Code, IntakeValidationError
from orgs.models import utcnow
from resolvers.intake import intake_options, meta_of

HAL = "application/hal+json"
SCOPE = "signatures:write"
TOKEN_HEADER = "osdi-api-token"
_MEDIA_TYPES = ("application/json", HAL)


def _hal(content: dict[str, Any], *, cache: str = "no-store") -> Response:
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, media_type=HAL, headers={"cache-control": cache})


def _base(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.public_url.rstrip("/") + "/osdi/v1"


async def entry_point(request: Request) -> Response:
    """The AEP: what this server offers, and where."""
    base = _base(request)
    return _hal(
        {
            "motd": "Coalition Hub: record signatures on your organisation's action pages "
            "with an API token holding the signatures:write scope (OSDI-API-Token).",
            "vendor_name": "Coalition Hub",
            "product_name": "Coalition Hub",
            "osdi_version": "1.0",
            "_links": {
                "self": {"href": base},
                "curies": [
                    {
                        "name": "osdi",
                        "href": "https://opensupporter.github.io/osdi-docs/{rel}",
                        "templated": True,
                    }
                ],
                "osdi:record_signature_helper": {
                    "href": base + "/petitions/{action_page_id}/signatures",
                    "templated": True,
                    "title": "Record a signature on one of your organisation's action pages",
                },
            },
        },
        cache="public, max-age=300",
    )


def _validation(error: IntakeValidationError) -> JSONResponse:
    codes = {e.code for e in error.errors}
    status = 404 if codes == {Code.PAGE_NOT_FOUND} else 400
    return JSONResponse(
        {
            "errors": [
                {"message": e.message, "path": list(e.path), "extensions": {"code": e.code.value}}
                for e in error.errors
            ]
        },
        status_code=status,
        headers={"cache-control": "no-store"},
    )


async def record_signature(request: Request) -> Response:
    page_ref = request.path_params["page"]
    if not (page_ref.isascii() and page_ref.isdigit()) or len(page_ref) > 18:
        return bodies.json_error(404, "No such action page.", "PAGE_NOT_FOUND")
    token = request.headers.get(TOKEN_HEADER, "").strip()
    if not token:
        return bodies.json_error(
            401,
            "Send an org API token with the signatures:write scope in OSDI-API-Token.",
            "UNAUTHENTICATED",
        )
    media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_type not in _MEDIA_TYPES:
        return bodies.json_error(415, "Send the signature as application/json.")
    try:
        body = bodies.loads(await request.body())
    except bodies.BadJson as error:
        return bodies.json_error(400, str(error))
    settings: Settings = request.app.state.settings
    keyring: Keyring = request.app.state.keyring
    uow: UnitOfWork = request.app.state.uow
    page_id = int(page_ref)
    try:
        async with uow.session() as session:
            subject = await authenticate_api_token(session, token)
            if subject is None:
                return bodies.json_error(
                    401, "Invalid, expired or revoked API token.", "UNAUTHENTICATED"
                )
            if SCOPE not in subject.scopes:
                return bodies.json_error(
                    403, f"This operation needs the {SCOPE} scope.", "FORBIDDEN"
                )
            receipt = await osdi.record_signature(
                await session.connection(),
                intake_options(settings, keyring),
                subject,
                page_id,
                body,
                meta_of(request),
            )
    except IntakeValidationError as error:
        return _validation(error)
    now = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    base = _base(request)
    # the same shape whether or not the person had signed before (orgs/intake/service.py)
    return _hal(
        {
            "identifiers": [f"coalition_hub:{receipt.contact_ref}"],
            "origin_system": "Coalition Hub",
            "created_date": now,
            "modified_date": now,
            "coalition_hub:contact_ref": receipt.contact_ref,
            "coalition_hub:referral_code": receipt.referral_code,
            "_links": {
                "self": {"href": f"{base}/petitions/{page_id}/signatures"},
            },
        }
    )


routes: list[BaseRoute] = [
    Route("/osdi/v1", entry_point, methods=["GET"]),
    Route("/osdi/v1/", entry_point, methods=["GET"]),
    Route("/osdi/v1/petitions/{page}/signatures", record_signature, methods=["POST"]),
    Route("/osdi/v1/petitions/{page}/signatures/", record_signature, methods=["POST"]),
]
