"""One delivery attempt: lock the row, build the payload, call the connector, record the outcome.

Idempotent: the row is locked with SKIP LOCKED for the attempt and only pending or queued rows
are sent, so a message delivered twice by the broker sends once. A worker killed mid-attempt
rolls its transaction back: the row stays queued and the relay enqueues it again (the
receiver dedupes on ``webhook-id`` / the delivery id if the first request had in fact
arrived). The retry schedule spreads about three days; failures that can never succeed fail
at once and stay visible with their reason.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx
import structlog
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from orgs.contacts.repository import purge_after_erasure
from orgs.crypto import Keyring
from orgs.delivery import payload as payloads
from orgs.delivery import repository as deliveries
from orgs.delivery.outbound import NOT_ALLOWED, TargetNotAllowed
from orgs.models import ConnectorKind, DeliveryEvent
from orgs.outbox import repository
from orgs.scoping import Scope, system_scope
from orgs.targets import repository as targets
from workers import target_mail
from workers.connectors import base
from workers.connectors.base import (
    ConnectorTarget,
    Held,
    NotYet,
    PermanentFailure,
    RetryableFailure,
)
from workers.mail import Mailer
from workers.metrics import DELIVERED, DELIVERY_LATENCY, FAILED, RETRIED

log = structlog.get_logger(__name__)

# Seconds before attempt 2, 3, ...: about 2.7 days in all, then the delivery fails.
RETRY_SCHEDULE = (30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 43200, 43200, 43200)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
ORDER_WAIT_SECONDS = 5.0
#: after this, a batch hands the deliveries it has not attempted yet back to the relay
BATCH_SECONDS = 30.0
#: a batch commits the outcomes it has at least this often
COMMIT_SECONDS = 0.1


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds to wait after ``attempts`` failed attempts (±20 % jitter, Retry-After floor)."""
    base_delay = RETRY_SCHEDULE[min(attempts, len(RETRY_SCHEDULE)) - 1]
    delay = base_delay * random.uniform(0.8, 1.2)
    return max(delay, retry_after or 0.0)


#: A batch's connectors read so far: the target and whether it is enabled (None: gone).
Connectors = dict[int, tuple[ConnectorTarget, bool] | None]


#: A batch's payloads built beforehand, by delivery (or why there is nothing to deliver).
Bodies = dict[int, dict[str, Any] | payloads.NothingToDeliver]
_NO_PAYLOAD = frozenset({DeliveryEvent.CONNECTOR_TEST.value, DeliveryEvent.TARGET_MAIL.value})


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"  # already done, cancelled, or being sent by another worker
    POSTPONED = "postponed"  # an earlier event goes first, or a message's slot is later
    HELD = "held"  # a message to a target of a paused campaign
    DEFERRED = "deferred"  # its batch ran out of time first: handed back to the relay


@dataclass(frozen=True)
class Pipeline:
    engine: Engine
    keyring: Keyring
    mailer: Mailer | None = None  # for thank-you and confirmation mails, org SMTP tests
    # what messages to targets are checked against (window, hourly cap); tests move it
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def process(self, delivery_id: int, http: httpx.Client) -> Outcome:
        """One delivery attempt (see :meth:`process_many`)."""
        return self.process_many([delivery_id], http)[delivery_id]

    def process_many(self, delivery_ids: Sequence[int], http: httpx.Client) -> dict[int, Outcome]:
        """Attempt deliveries together (a connector's batch): lock those still to send in one
        statement, check their order in one more, send them one after the other in id order
        over ``http``'s kept-alive connections, record each outcome.

        One delivery's failure is its own: it is retried (or fails) alone and the others go
        on, except a later event of the same supporter, which waits for it. Outcomes are
        committed at least every ``COMMIT_SECONDS`` (the rest locked again at once), so a
        crash mid-batch sends again only the deliveries of its last moment (they stay queued
        and are sent again: receivers dedupe on ``webhook-id``). Rows not attempted within
        ``BATCH_SECONDS`` (a slow target) are handed back to the relay.
        """
        outcomes = dict.fromkeys(delivery_ids, Outcome.SKIPPED)
        waiting: set[tuple[int, int, int | None]] = set()  # orders an earlier row holds
        connectors: Connectors = {}
        deadline = time.monotonic() + BATCH_SECONDS
        remaining: Sequence[int] = delivery_ids
        blocked: set[int] | None = None
        bodies: Bodies = {}
        with self.engine.connect() as conn:
            while remaining:
                with conn.begin():
                    jobs = repository.lock_jobs(conn, remaining)
                    remaining = []
                    if blocked is None:  # the first round: those still to send, in order
                        locked = [job.id for job in jobs]
                        blocked = repository.earlier_undelivered(conn, jobs, exclude=locked)
                        bodies = self._prepare(conn, jobs)
                    commit_at = time.monotonic() + COMMIT_SECONDS
                    sent: list[int] = []  # recorded as delivered in one statement
                    for index, job in enumerate(jobs):
                        key = repository.order_key(job)
                        now = time.monotonic()
                        if job.id in blocked or (key is not None and key in waiting):
                            repository.postpone(conn, job.id, ORDER_WAIT_SECONDS)
                            outcome = Outcome.POSTPONED
                        elif now > deadline:
                            rest = [j.id for j in jobs[index:]]
                            repository.release(conn, rest)
                            outcomes.update(dict.fromkeys(rest, Outcome.DEFERRED))
                            break
                        elif now > commit_at:  # commit what is done, lock the rest again
                            remaining = [j.id for j in jobs[index:]]
                            break
                        else:
                            outcome = self._process_job(conn, job, http, connectors, bodies, sent)
                        outcomes[job.id] = outcome
                        if key is not None and outcome in (Outcome.RETRY, Outcome.POSTPONED):
                            waiting.add(key)
                    if sent:
                        repository.delivered(conn, sent)
        return outcomes

    def _process_job(
        self,
        conn: Connection,
        job: repository.DeliveryJob,
        http: httpx.Client,
        connectors: Connectors,
        bodies: Bodies,
        sent: list[int],
    ) -> Outcome:
        """One attempt; a delivered row's id is added to ``sent`` (recorded by the caller),
        the other outcomes are recorded at once."""
        attempts = job.attempts + 1
        started = datetime.now(UTC)
        try:
            try:
                self._attempt(conn, job, http, connectors, bodies)
            except (base.DeliveryFailure, NotYet, Held, SQLAlchemyError):
                raise
            except Exception as exc:  # a bug or bad data: this row's failure, not its batch's
                log.exception("delivery.error", delivery=job.id)
                raise RetryableFailure(f"the delivery failed: {type(exc).__name__}") from exc
        except NotYet as later:  # a message to a target: not in its window, or too soon
            repository.postpone_until(conn, job.id, later.until)
            return Outcome.POSTPONED
        except Held as held:
            targets.hold_delivery(conn, job.id, held.reason)
            return Outcome.HELD
        except RetryableFailure as failure:
            if attempts >= MAX_ATTEMPTS:
                return self._failed(conn, job.id, attempts, f"gave up: {failure}", job)
            delay = backoff(attempts, failure.retry_after)
            repository.finish(
                conn,
                job.id,
                status="pending",
                attempts=attempts,
                error=str(failure),
                next_attempt_at=self.clock() + timedelta(seconds=delay),
            )
            RETRIED.inc()
            log.info("delivery.retry", delivery=job.id, attempts=attempts, delay=delay)
            return Outcome.RETRY
        except PermanentFailure as failure:
            return self._failed(conn, job.id, attempts, str(failure), job)
        if job.event == DeliveryEvent.ERASURE_REQUESTED.value:  # recorded before the purge
            repository.finish(conn, job.id, status="delivered", attempts=attempts)
            self._after(conn, job)
        else:
            sent.append(job.id)
        DELIVERED.inc()
        DELIVERY_LATENCY.observe((datetime.now(UTC) - started).total_seconds())
        return Outcome.DELIVERED

    def _after(self, conn: Connection, job: repository.DeliveryJob) -> None:
        """An erasure that reached the org's tool (or never can) ends with forgetting."""
        if job.event == "erasure_requested" and job.supporter_id is not None:
            purge_after_erasure(conn, job.id, job.supporter_id, job.org_id)

    def _failed(
        self,
        conn: Connection,
        delivery_id: int,
        attempts: int,
        error: str,
        job: repository.DeliveryJob | None = None,
    ) -> Outcome:
        repository.finish(conn, delivery_id, status="failed", attempts=attempts, error=error)
        if job is not None:
            self._after(conn, job)
        FAILED.inc()
        log.warning("delivery.failed", delivery=delivery_id, error=error)
        return Outcome.FAILED

    def _prepare(self, conn: Connection, jobs: Sequence[repository.DeliveryJob]) -> Bodies:
        """The payloads of a batch's connector deliveries, built together (a few statements
        for the batch); {} when that fails, each is then built (and fails) on its own."""
        by_org: dict[int, list[repository.DeliveryJob]] = {}
        for job in jobs:
            if job.connector_id is not None and job.event not in _NO_PAYLOAD:
                by_org.setdefault(job.org_id, []).append(job)
        bodies: Bodies = {}
        try:
            for org_id, some in by_org.items():
                bodies.update(payloads.build_many(conn, system_scope(org_id), self.keyring, some))
        except SQLAlchemyError:
            raise
        except Exception:
            log.exception("delivery.prepare_error")
            return {}
        return bodies

    def _target(
        self,
        conn: Connection,
        connector_id: int,
        scope: Scope,
        org_id: int,
        testing: bool,
        connectors: Connectors,
    ) -> ConnectorTarget:
        """The connector with its secrets decrypted, read once per batch."""
        if connector_id not in connectors:
            row = deliveries.connector_row(conn, scope, org_id, connector_id)
            if row is None:
                connectors[connector_id] = None
            else:
                secrets = (
                    self.keyring.decrypt_json(bytes(row["secrets_encrypted"]))
                    if row["secrets_encrypted"]
                    else {}
                )
                target = ConnectorTarget(
                    id=row["id"],
                    org_id=row["org_id"],
                    org_name=row["org_name"],
                    kind=row["kind"],
                    name=row["name"],
                    config=row["config"] or {},
                    secrets=secrets,
                    public_key=row["public_key"],
                    config_checked=base.config_passes(row["kind"], row["config"] or {}, secrets),
                )
                connectors[connector_id] = (target, bool(row["enabled"]))
        found = connectors[connector_id]
        if found is None or not (found[1] or testing):  # a paused one can be tested
            raise PermanentFailure("the connector was removed or disabled")
        return found[0]

    def _attempt(
        self,
        conn: Connection,
        job: repository.DeliveryJob,
        http: httpx.Client,
        connectors: Connectors,
        bodies: Bodies,
    ) -> None:
        if job.event == DeliveryEvent.TARGET_MAIL.value:
            if self.mailer is None:
                raise RetryableFailure("no mailer in this worker")
            target_mail.send(self.mailer, conn, job, self.clock())
            return
        if job.connector_id is None:
            if self.mailer is None:
                raise RetryableFailure("no mailer in this worker")
            self.mailer.send_for(conn, job)
            return
        scope = system_scope(job.org_id)
        testing = job.event == DeliveryEvent.CONNECTOR_TEST.value
        target = self._target(conn, job.connector_id, scope, job.org_id, testing, connectors)
        if testing and target.kind == ConnectorKind.SMTP.value:
            if self.mailer is None:
                raise RetryableFailure("no mailer in this worker")
            self.mailer.probe(target.config, target.secrets)
            return
        try:
            if testing:
                body = payloads.connector_test(job, target.org_name)
            else:
                built = bodies.get(job.id)
                if built is None:
                    built = payloads.build(conn, scope, self.keyring, job)
                if isinstance(built, payloads.NothingToDeliver):
                    raise built
                body = built
        except payloads.NothingToDeliver as reason:
            raise PermanentFailure(str(reason)) from None
        try:
            base.connector_for(target.kind).deliver(target, body, http)
        except base.DeliveryFailure:
            raise
        except TargetNotAllowed:  # base.send maps it; a connector sending otherwise too
            raise PermanentFailure(NOT_ALLOWED) from None
        except Exception as exc:  # a connector bug must not escape the retry schedule
            log.exception("delivery.connector_error", delivery=job.id, kind=target.kind)
            message = f"the {target.kind} connector failed: {type(exc).__name__}"
            raise RetryableFailure(message) from exc
