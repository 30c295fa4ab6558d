"""Streaming download of a contacts export behind a short-lived signed link."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from hub.db import UnitOfWork
from orgs.contacts.export import ExportFormat, stream, verify_link
from orgs.crypto import Keyring

MEDIA_TYPES = {ExportFormat.CSV: "text/csv", ExportFormat.JSONL: "application/x-ndjson"}


async def export_contacts(request: Request) -> Response:
    params = request.query_params
    try:
        org_id = int(params["org"])
        campaign = params["campaign"]
        fmt = ExportFormat(params["format"])
        expires = int(params["expires"])
        signature = params["signature"]
    except (KeyError, ValueError):
        return PlainTextResponse("bad export link", status_code=400)
    keyring: Keyring = request.app.state.keyring
    if not verify_link(keyring, org_id, campaign, fmt, expires, signature):
        return PlainTextResponse("export link invalid or expired", status_code=403)
    uow: UnitOfWork = request.app.state.uow

    async def body() -> AsyncIterator[str]:
        async with uow.session() as session:
            async for chunk in stream(session, keyring, org_id, campaign, fmt):
                yield chunk

    filename = f"{campaign}-contacts.{fmt.value}"
    return StreamingResponse(
        body(),
        media_type=MEDIA_TYPES[fmt],
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


routes: list[BaseRoute] = [Route("/export/contacts", export_contacts, methods=["GET"])]
