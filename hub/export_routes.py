"""Streaming download of a contacts export behind a short-lived signed link."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from hub.db import UnitOfWork
from orgs.contacts.export import ExportFormat, link_is_live, stream, verify_link
from orgs.crypto import Keyring

MEDIA_TYPES = {ExportFormat.CSV: "text/csv", ExportFormat.JSONL: "application/x-ndjson"}


async def export_contacts(request: Request) -> Response:
    keyring: Keyring = request.app.state.keyring
    link = verify_link(keyring, dict(request.query_params))
    if link is None:
        return PlainTextResponse("export link invalid or expired", status_code=403)
    uow: UnitOfWork = request.app.state.uow
    async with uow.session() as session:
        live = await link_is_live(session, link)
    if not live:
        return PlainTextResponse("export link invalid or expired", status_code=403)

    async def body() -> AsyncIterator[bytes]:
        async with uow.session() as session:
            async for chunk in stream(session, keyring, link):
                # stored text is checked on the way in; an old row never breaks the stream
                yield chunk.encode("utf-8", errors="replace")

    filename = f"campaign-{link.campaign_id}-contacts.{link.fmt.value}"
    return StreamingResponse(
        body(),
        media_type=MEDIA_TYPES[link.fmt],
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
        },
    )


routes: list[BaseRoute] = [Route("/export/contacts", export_contacts, methods=["GET"])]
