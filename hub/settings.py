"""Settings from the environment (prefix ``HUB_``); see docs/configuration.md."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore", populate_by_name=True)

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql://user:pass@host/db). Unset: embedded PostgreSQL "
        "under HUB_DATA_DIR.",
    )
    data_dir: Path = Field(
        default=Path("./.coalition-hub"),
        description="Folder for the embedded database, the generated secret key and runtime files.",
    )
    broker_url: str | None = Field(
        default=None,
        description="amqp://... for RabbitMQ. Unset: an in-process broker with worker threads "
        "inside `serve`.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Instance secret (signing, fingerprints, encryption at rest). Unset: generated "
        "once and stored in HUB_DATA_DIR/secret_key.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The URL browsers reach the hub at (links in mails, widget script URL).",
    )
    jwt_keys: str | None = Field(
        default=None,
        description="User access-token keys as kid:secret,kid:secret (the last signs, all "
        "verify; secrets of 32+ chars). Unset: one key derived from the instance secret.",
    )
    debug: bool = Field(
        default=False, description="GraphiQL, introspection for anonymous callers, verbose errors."
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: Literal["json", "console", "auto"] = Field(
        default="auto",
        description="json for machines, console for people; auto: console on a terminal, "
        "else json.",
    )
    log_client_ip: Literal["off", "hash", "raw"] = Field(
        default="off",
        description="Client addresses in the access log: off (not logged), hash (a keyed "
        "hash of the address, the same for one UTC day) or raw.",
    )
    db_pool_size: int = Field(default=10, ge=1, description="Connections per API process.")
    worker_threads: int = Field(default=4, ge=1, description="Worker threads (embedded/worker).")
    intake_rate_per_ip: str = Field(
        default="20/minute",
        description="Signatures per client IP before they are flagged (`limits` syntax).",
    )
    intake_rate_per_page: str = Field(
        default="200/second",
        description="Signatures per action page before they are flagged (`limits` syntax).",
    )
    rate_limit_storage: str = Field(
        default="memory://",
        description=(
            "Where rate-limit counters live: memory:// (per process), database (the hub's "
            "PostgreSQL, shared by every API process) or redis://host."
        ),
    )
    public_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How long a process reuses a public page config and its counters (0: never).",
    )
    intake_page_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Longest a process reuses a page's intake facts; changes reach it at once by "
        "LISTEN/NOTIFY, this bounds a missed notification (0: never cached).",
    )
    intake_group_commit_ms: float = Field(
        default=1.0,
        ge=0,
        le=50,
        description="How long an API process gathers concurrent widget signatures to write "
        "them in one transaction (group commit, at most 64 a batch; 0: one transaction each).",
    )
    intake_retry_window_seconds: int = Field(
        default=300,
        ge=0,
        description="Same person, page and action type within this window: a retry, not new.",
    )
    contact_ref_ttl_days: int = Field(
        default=30,
        ge=0,
        description="How long a signature's contactRef authorises follow-ups (shares) on the "
        "pages of the org that issued it.",
    )
    delivery_requeue_seconds: int = Field(
        default=300,
        ge=5,
        description="A delivery queued this long without an attempt is sent to the broker again.",
    )
    relay_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        description="The outbox relay is woken by PostgreSQL (NOTIFY) when a delivery is due, "
        "and by the next retry or drip slot; it looks anyway after this many seconds (rows "
        "queued too long, a notification lost with its connection).",
    )
    demo_history: int = Field(
        default=1500,
        ge=0,
        description="Signatures of made-up history (a month of it) that `serve --demo` and "
        "`demo` record when they create the demo coalition; 0 for none.",
    )
    allow_private_targets: bool = Field(
        default=False,
        # the old name keeps working
        validation_alias=AliasChoices("HUB_ALLOW_PRIVATE_TARGETS", "HUB_ALLOW_PRIVATE_WEBHOOKS"),
        description="Let connectors (webhook, CRM, an org's SMTP server) reach loopback, private "
        "and other non-public addresses (tests, on-premise CRMs); HUB_ALLOW_PRIVATE_WEBHOOKS is "
        "the old name.",
    )
    graphql_max_body_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        description="Largest request body /graphql accepts (larger: 413, see docs/security.md).",
    )
    form_max_body_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        description="Largest body of the no-JavaScript form post, POST /act/{id}.",
    )
    osdi_max_body_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        description="Largest body of an OSDI request, POST /osdi/v1/petitions/{id}/signatures.",
    )
    max_body_bytes: int = Field(
        default=4 * 1024,
        ge=0,
        description="Largest request body on every other route (none of them needs one).",
    )
    graphql_max_document_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        description="Largest GraphQL document in bytes, whitespace and comments included; "
        "checked before parsing.",
    )
    graphql_max_tokens: int = Field(
        default=4000,
        ge=100,
        description="Most tokens in a GraphQL document (parsing stops beyond).",
    )
    smtp_url: str | None = Field(
        default=None,
        description="Instance SMTP server (smtp://user:pass@host:port); orgs may set their own.",
    )
    mail_from: str = Field(default="Coalition Hub <noreply@localhost>", description="Sender.")

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def resolved_secret_key(self) -> str:
        """The instance secret; in embedded mode generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()


def settings_reference() -> str:
    """The Markdown table of every setting, embedded in docs/configuration.md (a test checks)."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, info in Settings.model_fields.items():
        default = info.default
        shown = "unset" if default is None else f"`{default}`"
        rows.append(f"| `HUB_{name.upper()}` | {shown} | {info.description or ''} |")
    return "\n".join(rows) + "\n"
