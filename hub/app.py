"""The Starlette application: GraphQL, health checks, and the routes of each area."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types import ExecutionResult

from hub import (
    account_routes,
    bodies,
    confirm_routes,
    dashboard_routes,
    export_routes,
    form_routes,
    osdi_routes,
    sso_routes,
)
from hub.db import Database, UnitOfWork
from hub.embedded import libpq_url
from hub.fast_intake import FastIntake
from hub.migrate import head_revision
from hub.settings import Settings
from hub.widget_routes import routes as widget_routes
from orgs.crypto import Keyring
from orgs.identity.service import authenticate
from orgs.intake import pages as intake_pages
from orgs.intake.group import GroupCommit
from resolvers.context import Context, jwt_keys_for
from schema.proca import proca_schema
from schema.schema import schema


class HubGraphQL(GraphQL[Context, None]):
    """strawberry's ASGI view with the hub's edge rules: one JSON operation per request.

    Bodies must be ``application/json`` (a form or multipart post is a cross-site request
    a browser sends without asking); batches (a JSON array) are refused; every refusal is a
    JSON error (hub/bodies.py), never a plain-text or 500 answer.
    """

    def __init__(
        self,
        *,
        uow: UnitOfWork,
        settings: Settings,
        keyring: Keyring,
        graphql_schema: Any = schema,
        **kw: Any,
    ):
        super().__init__(graphql_schema, **kw)
        self.uow = uow
        self.settings = settings
        self.keyring = keyring

    async def get_context(self, request: Any, response: Any) -> Context:
        ctx = Context(
            request=request,
            response=response,
            uow=self.uow,
            settings=self.settings,
            keyring=self.keyring,
        )
        authorization = request.headers.get("authorization")
        if authorization:
            subject = await authenticate(
                await ctx.session(), authorization, jwt_keys_for(self.settings)
            )
            if subject is not None:
                ctx.subject = subject
            else:
                ctx.auth_error = "Invalid, expired or revoked credentials"
        return ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope, receive))
        except HTTPException as error:
            response = bodies.json_error(error.status_code, error.reason)
        await response(scope, receive, send)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return bodies.loads(data)
        except bodies.BadJson as error:
            raise HTTPException(400, str(error)) from None

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        if request.method == "GET":
            data: Any = self.parse_query_params(request.query_params)
        else:
            media_type = (request.content_type or "").split(";")[0].strip().lower()
            if media_type != "application/json":
                raise HTTPException(415, "GraphQL requests must be sent as application/json.")
            data = self.parse_json(await request.get_body())
        if isinstance(data, list):
            raise HTTPException(
                400, "Batched operations (a JSON array) are not supported: send one per request."
            )
        if not isinstance(data, dict):
            raise HTTPException(400, "The request must be a JSON object with a `query`.")
        expected = {
            "query": (str, "a string"),
            "variables": (dict, "an object"),
            "operationName": (str, "a string"),
            "extensions": (dict, "an object"),
        }
        for key, (kind, shown) in expected.items():
            if data.get(key) is not None and not isinstance(data[key], kind):
                raise HTTPException(400, f"`{key}` must be {shown} or null.")
        return GraphQLRequestData(
            query=data.get("query"),
            variables=data.get("variables"),
            operation_name=data.get("operationName"),
            extensions=data.get("extensions"),
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as error:
            if isinstance(error.__cause__, CannotGetOperationTypeError):
                # strawberry's message repeats the operationName sent
                raise HTTPException(
                    400, "No operation matches `operationName` (or it is needed and missing)."
                ) from None
            raise


def create_app(
    settings: Settings,
    database: Database | None = None,
    *,
    uow: UnitOfWork | None = None,
    extra_routes: list[BaseRoute] | None = None,
) -> Starlette:
    """Build the app. ``database`` owns the engine; tests may pass their own ``uow`` instead."""
    if uow is None:
        assert database is not None, "create_app needs a database or a unit of work"
        uow = UnitOfWork(database.engine(settings.db_pool_size))
    keyring = Keyring(settings.resolved_secret_key())
    # the pages' intake facts, per process; trusted only while its listener runs (lifespan)
    page_cache = intake_pages.PageCache(settings.intake_page_cache_seconds)
    # group commit of the widget's signatures: on connections of its own (a real engine only)
    group = None
    if isinstance(uow.bind, AsyncEngine) and settings.intake_group_commit_ms > 0:
        url = libpq_url(uow.bind.url.render_as_string(hide_password=False))
        group = GroupCommit(url, settings.intake_group_commit_ms)
    graphiql = settings.debug or settings.embedded
    graphql = HubGraphQL(
        uow=uow,
        settings=settings,
        keyring=keyring,
        graphql_ide="graphiql" if graphiql else None,
        allow_queries_via_get=True,
    )
    # Proca's dialect of the same operations, at Proca's own path (schema/proca.py)
    proca = HubGraphQL(
        uow=uow,
        settings=settings,
        keyring=keyring,
        graphql_schema=proca_schema,
        graphql_ide=None,
        allow_queries_via_get=True,
    )
    expected_head = head_revision()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            async with uow.session() as session:
                current = (
                    await session.execute(text("SELECT version_num FROM alembic_version"))
                ).scalar_one_or_none()
        except Exception as exc:  # any database failure means "not ready"
            return JSONResponse(
                {"status": "unavailable", "reason": type(exc).__name__}, status_code=503
            )
        if current != expected_head:
            return JSONResponse(
                {"status": "migrations pending", "current": current, "head": expected_head},
                status_code=503,
            )
        return JSONResponse({"status": "ready", "revision": current})

    async def metrics(request: Request) -> Response:
        """Prometheus metrics: this process's counters, the outbox, the roll-up's queue."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        import workers.metrics  # noqa: F401  (registers the delivery counters)
        from orgs.delivery.repository import status_counts
        from orgs.stats.repository import queued_actions

        async with uow.session() as session:
            outbox = await status_counts(session)
            queued = await queued_actions(await session.connection())
        lines = [
            "# HELP hub_stats_queued_actions Actions waiting for the dashboard's roll-up.",
            "# TYPE hub_stats_queued_actions gauge",
            f"hub_stats_queued_actions {queued}",
            "# HELP hub_outbox_deliveries Deliveries in the outbox by status.",
            "# TYPE hub_outbox_deliveries gauge",
            *(f'hub_outbox_deliveries{{status="{k}"}} {v}' for k, v in sorted(outbox.items())),
        ]
        body = generate_latest() + ("\n".join(lines) + "\n").encode()
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    routes: list[BaseRoute] = [
        Route(
            "/graphql",
            FastIntake(
                graphql,
                uow=uow,
                settings=settings,
                keyring=keyring,
                pages=page_cache,
                group=group,
            ),
            methods=["GET", "POST", "OPTIONS"],
        ),
        Route("/api", proca, methods=["GET", "POST", "OPTIONS"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        *export_routes.routes,
        *sso_routes.routes,
        *form_routes.routes,
        *confirm_routes.routes,
        *account_routes.routes,
        *osdi_routes.routes,
        *widget_routes,
        *dashboard_routes.routes,
        *(extra_routes or []),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # What exists once the app is built (modules, the schema: some 170,000 objects)
        # lives as long as the process: out of the collector's sight, a full collection
        # no longer stops every request for about 100 ms while they are walked again.
        gc.freeze()
        listener = None
        if isinstance(uow.bind, AsyncEngine) and page_cache.max_age > 0:
            url = libpq_url(uow.bind.url.render_as_string(hide_password=False))
            listener = asyncio.create_task(intake_pages.listen(page_cache, url))
        yield
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        if group is not None:
            await group.close()
        if database is not None:
            await database.dispose()

    # Browsers may call the public operations from any site, but never with credentials:
    # the Authorization header is not allowed cross-origin, so a hostile page cannot use a
    # staff member's token, and the widget never needs one.
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=["*"],
            allow_methods=["GET", "POST"],
            allow_headers=["content-type", "idempotency-key", "x-altcha"],
            max_age=86400,
        ),
        # inside CORS, so that a widget can read its 413
        Middleware(bodies.BodyLimit, limits=bodies.body_limits(settings)),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.uow = uow
    app.state.intake_pages = page_cache
    app.state.keyring = keyring
    app.state.settings = settings
    return app
