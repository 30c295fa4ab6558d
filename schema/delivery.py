"""Connectors and deliveries: how an org's data reaches its tools, and what happened to it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from orgs.delivery.service import ConnectorError as ServiceError
from orgs.delivery.service import ConnectorErrorCode as ServiceErrorCode
from orgs.models import Connector as ConnectorRow
from orgs.models import Delivery as DeliveryRow
from orgs.models import DeliveryStatus as DeliveryStatusValue
from resolvers import delivery as resolvers
from resolvers.context import Context
from schema.permissions import require_scope
from schema.scalars import JsonValue

DeliveryStatus = strawberry.enum(DeliveryStatusValue, name="DeliveryStatus")


@strawberry.type(description="What a connector did lately; errors carry no personal data.")
class ConnectorHealth:
    delivered_last_day: int = strawberry.field(description="Delivered in the last 24 hours.")
    last_delivered_at: datetime | None
    pending: int = strawberry.field(description="Due or being sent.")
    retrying: int = strawberry.field(description="Of the pending, those that failed before.")
    waiting: int = strawberry.field(description="Held until the supporter confirms.")
    failed: int = strawberry.field(description="Given up on; retryDeliveries sends them again.")
    last_error: str | None
    last_error_at: datetime | None


@strawberry.type(description="Where an org's supporters go; secrets are never returned.")
class Connector:
    org_id: strawberry.Private[int]
    id: int
    kind: str
    name: str
    enabled: bool
    config: JsonValue
    created_at: datetime

    @strawberry.field(description="Deliveries lately: delivered, pending, failed, last error.")
    async def health(self, info: Info[Context, None]) -> ConnectorHealth:
        found = await resolvers.connector_health(info.context, self.org_id, self.id)
        return ConnectorHealth(
            delivered_last_day=found.delivered_last_day,
            last_delivered_at=found.last_delivered_at,
            pending=found.pending,
            retrying=found.retrying,
            waiting=found.waiting,
            failed=found.failed,
            last_error=found.last_error,
            last_error_at=found.last_error_at,
        )

    @classmethod
    def from_row(cls, row: ConnectorRow) -> Connector:
        assert row.id is not None
        return cls(
            org_id=row.org_id,
            id=row.id,
            kind=row.kind,
            name=row.name,
            enabled=row.enabled,
            config=JsonValue(row.config),
            created_at=row.created_at,
        )


@strawberry.type
class Delivery:
    id: int
    event: str
    status: DeliveryStatus  # type: ignore[valid-type]
    connector_id: int | None
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row: DeliveryRow) -> Delivery:
        assert row.id is not None
        return cls(
            id=row.id,
            event=row.event,
            status=DeliveryStatusValue(row.status),
            connector_id=row.connector_id,
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
            next_attempt_at=row.next_attempt_at,
            delivered_at=row.delivered_at,
        )


@strawberry.type
class DeliveryPage:
    nodes: list[Delivery]
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")


ConnectorErrorCode = strawberry.enum(ServiceErrorCode, name="ConnectorErrorCode")


@strawberry.type
class ConnectorError:
    field: list[str]
    code: ConnectorErrorCode  # type: ignore[valid-type]
    message: str

    @classmethod
    def from_service(cls, error: ServiceError) -> ConnectorError:
        return cls(field=list(error.field), code=error.code, message=error.message)


@strawberry.type
class AddConnectorSuccess:
    connector: Connector


@strawberry.type
class AddConnectorErrors:
    errors: list[ConnectorError]


AddConnectorResult = Annotated[
    AddConnectorSuccess | AddConnectorErrors, strawberry.union("AddConnectorResult")
]


@strawberry.type
class SetConnectorEnabledSuccess:
    connector: Connector


@strawberry.type
class SetConnectorEnabledErrors:
    errors: list[ConnectorError]


SetConnectorEnabledResult = Annotated[
    SetConnectorEnabledSuccess | SetConnectorEnabledErrors,
    strawberry.union("SetConnectorEnabledResult"),
]


@strawberry.type(
    description="The test is queued: follow the delivery in `deliveries(org, connector)`."
)
class TestConnectorSuccess:
    delivery: Delivery


@strawberry.type
class TestConnectorErrors:
    errors: list[ConnectorError]


TestConnectorResult = Annotated[
    TestConnectorSuccess | TestConnectorErrors, strawberry.union("TestConnectorResult")
]


@strawberry.type
class RetryDeliveriesSuccess:
    count: int = strawberry.field(description="Failed deliveries queued again.")


@strawberry.type
class RetryDeliveriesErrors:
    errors: list[ConnectorError]


RetryDeliveriesResult = Annotated[
    RetryDeliveriesSuccess | RetryDeliveriesErrors, strawberry.union("RetryDeliveriesResult")
]


@strawberry.input
class AddConnectorInput:
    org: str
    kind: str = strawberry.field(description="webhook | smtp (more kinds as installed)")
    name: str
    config: JsonValue = strawberry.field(description="e.g. {url} for a webhook")
    secrets: JsonValue | None = strawberry.field(
        default=None, description="Stored encrypted, never returned (e.g. {secrets: [whsec_…]})."
    )


@strawberry.input
class SetConnectorEnabledInput:
    id: int
    enabled: bool


@strawberry.input
class TestConnectorInput:
    id: int


@strawberry.input
class RetryDeliveriesInput:
    org: str
    ids: list[int] | None = strawberry.field(
        default=None, description="Failed deliveries to retry; all failed ones when null."
    )
    connector: int | None = strawberry.field(
        default=None, description="Only the failed deliveries of this connector."
    )


def _missing(field: str) -> ConnectorError:
    return ConnectorError(
        field=["input", field], code=ServiceErrorCode.NOT_FOUND, message="Not found"
    )


@strawberry.type
class DeliveryQuery:
    @strawberry.field(
        description="The org's connectors (needs MANAGE_CONNECTORS); empty for other orgs.",
        permission_classes=[require_scope("connectors:write")],
    )
    async def connectors(self, info: Info[Context, None], org: str) -> list[Connector]:
        rows = await resolvers.connectors(info.context, org)
        return [Connector.from_row(r) for r in rows]

    @strawberry.field(
        description="The org's deliveries, newest first; filter by status and connector.",
        permission_classes=[require_scope("connectors:write")],
    )
    async def deliveries(
        self,
        info: Info[Context, None],
        org: str,
        status: DeliveryStatus | None = None,  # type: ignore[valid-type]
        connector: int | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> DeliveryPage:
        rows = await resolvers.deliveries(
            info.context,
            org,
            status=status.value if status is not None else None,
            connector_id=connector,
            first=first,
            after=int(after) if after and after.isdigit() else None,
        )
        end = str(rows[-1].id) if rows else None
        return DeliveryPage(nodes=[Delivery.from_row(r) for r in rows], end_cursor=end)


@strawberry.type
class DeliveryMutation:
    @strawberry.mutation(
        description="Add a connector (its config is checked first).",
        permission_classes=[require_scope("connectors:write")],
    )
    async def add_connector(
        self, info: Info[Context, None], input: AddConnectorInput
    ) -> AddConnectorResult:
        result = await resolvers.add_connector(
            info.context,
            input.org,
            kind=input.kind,
            name=input.name,
            config=dict(input.config) if isinstance(input.config, dict) else {},
            secrets=dict(input.secrets) if isinstance(input.secrets, dict) else {},
        )
        if isinstance(result, list):
            return AddConnectorErrors(errors=[ConnectorError.from_service(e) for e in result])
        return AddConnectorSuccess(connector=Connector.from_row(result))

    @strawberry.mutation(
        description="Pause or resume a connector (paused: new deliveries are not planned).",
        permission_classes=[require_scope("connectors:write")],
    )
    async def set_connector_enabled(
        self, info: Info[Context, None], input: SetConnectorEnabledInput
    ) -> SetConnectorEnabledResult:
        row = await resolvers.set_connector_enabled(info.context, input.id, input.enabled)
        if row is None:
            return SetConnectorEnabledErrors(errors=[_missing("id")])
        return SetConnectorEnabledSuccess(connector=Connector.from_row(row))

    @strawberry.mutation(
        description="Queue a test event (no personal data) for one connector; the worker sends "
        "it and records delivered or failed, with the reason, on the returned delivery.",
        permission_classes=[require_scope("connectors:write")],
    )
    async def test_connector(
        self, info: Info[Context, None], input: TestConnectorInput
    ) -> TestConnectorResult:
        row = await resolvers.test_connector(info.context, input.id)
        if row is None:
            return TestConnectorErrors(errors=[_missing("id")])
        return TestConnectorSuccess(delivery=Delivery.from_row(row))

    @strawberry.mutation(
        description="Queue failed deliveries of the org again (all, or the listed ones).",
        permission_classes=[require_scope("connectors:write")],
    )
    async def retry_deliveries(
        self, info: Info[Context, None], input: RetryDeliveriesInput
    ) -> RetryDeliveriesResult:
        count = await resolvers.retry_deliveries(
            info.context, input.org, input.ids, input.connector
        )
        if count is None:
            return RetryDeliveriesErrors(errors=[_missing("org")])
        return RetryDeliveriesSuccess(count=count)
