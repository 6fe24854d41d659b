"""Typed configuration read once per container from the environment; a bad value fails the cold start."""

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from onboarding.container import per_container


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    # Local development and tests: a full SQLAlchemy URL. In AWS leave it unset and use the DB_* fields.
    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    db_host: str | None = Field(default=None, alias="DB_HOST")  # the RDS Proxy endpoint in AWS
    db_port: int = Field(default=5432, alias="DB_PORT", ge=1, le=65535)
    db_name: str = Field(default="postgres", alias="DB_NAME")
    db_user: str | None = Field(default=None, alias="DB_USER")
    db_secret_arn: str | None = Field(default=None, alias="DB_SECRET_ARN")
    db_iam_auth: bool = Field(default=False, alias="DB_IAM_AUTH")
    db_secret_max_age_seconds: int = Field(default=300, alias="DB_SECRET_MAX_AGE_SECONDS", ge=0)
    # "verify": TLS with certificate and host name checked (default trust store, or DB_TLS_CA_FILE).
    db_tls: Literal["verify", "disable"] = Field(default="verify", alias="DB_TLS")
    db_tls_ca_file: str | None = Field(default=None, alias="DB_TLS_CA_FILE")
    # One request at a time per Lambda container: one connection is all a container can use.
    db_pool_size: int = Field(default=1, alias="DB_POOL_SIZE", ge=1)
    db_max_overflow: int = Field(default=0, alias="DB_MAX_OVERFLOW", ge=0)
    # Below RDS Proxy's and IAM tokens' 15-30 minute horizons.
    db_pool_recycle_seconds: int = Field(default=900, alias="DB_POOL_RECYCLE_SECONDS", ge=30, lt=1800)
    db_pool_timeout_seconds: float = Field(default=5.0, alias="DB_POOL_TIMEOUT_SECONDS", gt=0)
    # A pooled connection idle this long is pinged before use (0: before every use, like pool_pre_ping).
    # Lambda freezes a container between invocations: a connection that idled is the one that may have
    # died meanwhile; one used moments ago by the previous request is not pinged (a round trip saved).
    db_ping_after_idle_seconds: float = Field(default=10.0, alias="DB_PING_AFTER_IDLE_SECONDS", ge=0)
    # Socket timeout for connect and every query: a hung database becomes a 503, not a Lambda timeout.
    # The worst case waits twice (the ping of a stale pooled connection, then a new connection), so
    # twice this, plus room to answer, must fit in the API functions' 15 s timeout.
    db_socket_timeout_seconds: float = Field(default=5.0, alias="DB_SOCKET_TIMEOUT_SECONDS", gt=0)

    # AWS calls on a request's path (onboarding.aws): connect and read timeouts and attempts in all.
    # botocore's own defaults (60 s each, retried) would outlast the function timeout.
    aws_connect_timeout_seconds: float = Field(default=1.0, alias="AWS_CLIENT_CONNECT_TIMEOUT_SECONDS", gt=0)
    aws_read_timeout_seconds: float = Field(default=2.0, alias="AWS_CLIENT_READ_TIMEOUT_SECONDS", gt=0)
    aws_max_attempts: int = Field(default=2, alias="AWS_CLIENT_MAX_ATTEMPTS", ge=1, le=5)

    # Migrations (migrations/env.py, SET LOCAL for the upgrade's transaction): how long a DDL statement
    # may wait for a lock (an ALTER TABLE of a host table queued behind a long query blocks that table's
    # traffic while it waits; 0: no limit), and how long any statement may run.
    migration_lock_timeout_ms: int = Field(default=5_000, alias="MIGRATION_LOCK_TIMEOUT_MS", ge=0)
    migration_statement_timeout_ms: int = Field(
        default=120_000, alias="MIGRATION_STATEMENT_TIMEOUT_MS", ge=1_000, le=840_000
    )

    # Partitions of onboarding_metric (onboarding.metric_partitions, the nightly maintenance): months
    # created ahead of time, and months kept before a partition is moved to the archive.
    metric_partitions_ahead: int = Field(default=3, alias="METRIC_PARTITIONS_AHEAD", ge=1, le=24)
    metric_retention_months: int = Field(default=12, alias="METRIC_RETENTION_MONTHS", ge=1, le=120)

    # Client metric events an organization may send per UTC day (onboarding.metric_quota); over it a
    # batch is a 429. At least one full batch (100 events). A real organization's browsers send tens to
    # hundreds a day; the default bounds one tenant to 2 s of the stage's throttle rate.
    metric_daily_quota: int = Field(default=10_000, alias="METRIC_DAILY_QUOTA", ge=100, le=10_000_000)

    org_id_claim: str = Field(default="custom:org_id", alias="ORG_ID_CLAIM")
    groups_claim: str = Field(default="cognito:groups", alias="GROUPS_CLAIM")
    max_body_bytes: int = Field(default=64 * 1024, alias="MAX_BODY_BYTES", ge=1024)

    # Domain events (docs/events.md). Without a bus, events are still written to the outbox and wait there.
    event_bus_name: str | None = Field(default=None, alias="EVENT_BUS_NAME", min_length=1, max_length=1600)
    event_source: str = Field(
        default="signupflow.onboarding", alias="EVENT_SOURCE", min_length=1, max_length=256
    )
    # Sent outbox rows are kept this long (to inspect and replay), then the publisher deletes them.
    outbox_retention_days: int = Field(default=7, alias="OUTBOX_RETENTION_DAYS", ge=1, le=365)
    # Where the OrganizationCreated consumer parks events it can never process (malformed ones).
    dead_letter_queue_url: str | None = Field(default=None, alias="DEAD_LETTER_QUEUE_URL", min_length=1)

    @field_validator("event_source")
    @classmethod
    def _not_an_aws_source(cls, value: str) -> str:
        if value.startswith("aws."):
            raise ValueError("EVENT_SOURCE must not start with 'aws.' (reserved by AWS)")
        return value

    # Nightly purge: organizations per transaction, and the time left at which it stops starting batches.
    purge_batch_size: int = Field(default=100, alias="PURGE_BATCH_SIZE", ge=1, le=1000)
    purge_time_reserve_ms: int = Field(default=20_000, alias="PURGE_TIME_RESERVE_MS", ge=0)

    @model_validator(mode="after")
    def _iam_auth_needs_a_user(self) -> "Settings":
        if self.db_iam_auth and not self.db_user:
            raise ValueError("DB_IAM_AUTH needs DB_USER")
        return self

    def for_migrations(self) -> "Settings":
        """The settings migrations connect with: the socket waits as long as a statement may run (plus a
        margin), so that the database's statement_timeout, not the 5 s socket timeout of the API path,
        ends a long statement, with PostgreSQL's own error."""
        margin_seconds = 10
        socket_timeout = self.migration_statement_timeout_ms / 1000 + margin_seconds
        return self.model_copy(
            update={"db_socket_timeout_seconds": max(self.db_socket_timeout_seconds, socket_timeout)}
        )


@per_container
def get_settings() -> Settings:
    # An empty variable is an unset one: the template declares DATABASE_URL, DB_TLS, ... empty so that
    # `sam local invoke --env-vars env.json` may set them (SAM CLI passes only declared variables).
    return Settings.model_validate({name: value for name, value in os.environ.items() if value != ""})
