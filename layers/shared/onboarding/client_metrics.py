"""Client analytics events: what the browser sends to `POST /v1/onboarding/metrics`, checked and stored.

Batches are validated whole before anything is written (any bad event: 422 naming its index, nothing
stored), then stored by one statement, sent as its own transaction: the daily cap's reservation
(`metric_quota`), the batch's keys inserted into `onboarding_metric_event_key` with `ON CONFLICT
(organization_id, client_event_id) DO NOTHING`, and the metric rows of the keys that were new,
read from one JSON parameter (`json_to_recordset`). A replayed event id is stored once per org, equal
ids of other orgs never interfere, and a resend of an event id with another timestamp (a client that
stamps events when it sends them) is a duplicate too: the first copy stored wins. `onboarding_metric`
is partitioned by month on `timestamp`, which PostgreSQL requires in its unique key, so that key
cannot find such a resend; the key table, unpartitioned, keeps each id for the resend window
(`metrics.RESEND_WINDOW`). Clients may send only the event types the service cannot observe
itself (`CLIENT_EVENT_TYPES`); the others are reserved, so analytics cannot be forged. The data
model's key fields of a type are checked in its `event_data` (`video_id`, `video_title` and
`watch_percentage` of the video events). The user agent
is coarsened to a browser family and OS before storage (`coarse_user_agent`).
"""

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Annotated, Any, Final
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StrictInt, TypeAdapter, ValidationInfo
from pydantic import field_validator as validates
from pydantic_core import PydanticCustomError
from sqlalchemy import (
    DateTime,
    Integer,
    Select,
    String,
    bindparam,
    cast,
    column,
    exists,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import JSON, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from onboarding import metric_quota
from onboarding.db import first_statement_alone
from onboarding.field_errors import rules
from onboarding.metric_tables import onboarding_metric_event_key
from onboarding.metrics import MAX_CLOCK_SKEW, MAX_EVENT_AGE, MetricEventType
from onboarding.tables import onboarding_metric
from onboarding.validation import WHOLE_NUMBER, Timestamp

# What only the browser can see. Everything else is emitted by the service with the change it describes.
CLIENT_EVENT_TYPES: Final = frozenset(
    {
        MetricEventType.WIZARD_STEP_VIEWED,
        MetricEventType.CHECKLIST_VIEWED,
        MetricEventType.VIEW_REPORTS,
        MetricEventType.VIDEO_PLAYED,
        MetricEventType.VIDEO_COMPLETED,
    }
)
MAX_BATCH_EVENTS: Final = 100
MAX_EVENT_DATA_BYTES: Final = 4096
MAX_EVENT_DATA_DEPTH: Final = 4  # event_data itself is level 1
MAX_USER_AGENT_CHARS: Final = 100

# An opaque random token (UUID, base64url, hex): no '@', spaces or dots, not just digits (phone numbers):
# at least one letter.
_SESSION_ID = re.compile(r"[0-9_-]*[A-Za-z][A-Za-z0-9_-]*")
SESSION_ID_LENGTH: Final = (16, 50)
_DATA_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
# The video events' key fields (data-model.md): an opaque id (no URL: it could carry personal data),
# the title as shown, how much of the video was watched.
_VIDEO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")
MAX_VIDEO_TITLE_CHARS: Final = 200
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class KeyFields:
    """The `event_data` keys an event type must carry, and those it may carry, checked by `_key_fields`."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


KEY_FIELDS: Final[dict[str, KeyFields]] = {
    MetricEventType.VIDEO_PLAYED: KeyFields(("video_id", "video_title"), ("watch_percentage",)),
    MetricEventType.VIDEO_COMPLETED: KeyFields(("video_id", "watch_percentage"), ("video_title",)),
}
_CLIENT_EVENT_TYPE_NAMES: list[JsonValue] = [str(name) for name in sorted(CLIENT_EVENT_TYPES)]
# Computed once: checked for every event of every batch (the enum's `__members__` is a new mapping
# per access, searched value by value; with the sorted list joined per event, 8 % of a 100-event batch).
_EVENT_TYPES: Final = frozenset(str(member) for member in MetricEventType)
_ALLOWED_CLIENT_EVENT_TYPES: Final = ", ".join(sorted(CLIENT_EVENT_TYPES))


# The rules of an event no JSON schema states: their 422 detail `type` and what they say. (The schema
# states the others: `event_data`'s depth, its keys at every level, no NUL in its text.)
EVENT_RULES: Final = {
    "timestamp_too_old": "`timestamp` is at most 7 days old.",
    "timestamp_in_future": "`timestamp` is at most 5 minutes ahead of the service's clock.",
    "event_data_too_large": f"`event_data` takes at most {MAX_EVENT_DATA_BYTES} bytes as compact JSON.",
    "event_data_personal": "No text in `event_data` holds an e-mail address.",
    "string_unicode": "Text in `event_data` is valid Unicode (no lone surrogates).",
}
WIZARD_STEP_FIELDS: Final = ("wizard_step_reached", "step_duration_seconds")


def _event_data_value_schema(depth: int) -> dict[str, JsonValue]:
    """A value at `depth` of `event_data` (itself depth 1) as `_check_json` accepts it: text without NUL,
    numbers, booleans, null, and down to depth MAX_EVENT_DATA_DEPTH arrays and objects (snake_case keys)."""
    choices: list[JsonValue] = [
        {"type": "string", "pattern": "^[^\\u0000]*$"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
    ]
    if depth <= MAX_EVENT_DATA_DEPTH:
        inner = _event_data_value_schema(depth + 1)
        choices.append({"type": "array", "items": inner})
        choices.append(
            {
                "type": "object",
                "propertyNames": {"pattern": f"^{_DATA_KEY.pattern}$"},
                "additionalProperties": inner,
            }
        )
    return {"anyOf": choices}


# What `_KEY_FIELD_CHECKS` accept, as JSON Schema (openapi.json).
_NO_CONTROL = "\\u0000-\\u001f\\u007f"
_KEY_FIELD_SCHEMAS: Final[dict[str, dict[str, JsonValue]]] = {
    "video_id": {"type": "string", "pattern": f"^{_VIDEO_ID.pattern}$"},
    "video_title": {
        "type": "string",
        "maxLength": MAX_VIDEO_TITLE_CHARS,
        # Some character that is not white space; no control characters.
        "pattern": f"^[^{_NO_CONTROL}]*[^\\s{_NO_CONTROL}][^{_NO_CONTROL}]*$",
    },
    "watch_percentage": {"type": "number", "minimum": 0, "maximum": 100},
}


class ClientMetricEvent(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            # The wizard's typed fields belong to `wizard_step_viewed` events only.
            "if": {
                "properties": {"event_type": {"const": MetricEventType.WIZARD_STEP_VIEWED.value}},
                "required": ["event_type"],
            },
            "else": {"properties": {name: {"type": "null"} for name in WIZARD_STEP_FIELDS}},
            # The key fields of the video events (`_key_fields`), stated per event type.
            "allOf": [
                {
                    "if": {
                        "properties": {"event_type": {"const": str(event_type)}},
                        "required": ["event_type"],
                    },
                    "then": {
                        "required": ["event_data"],
                        "properties": {
                            "event_data": {
                                "required": list(fields.required),
                                "properties": {
                                    name: _KEY_FIELD_SCHEMAS[name]
                                    for name in (*fields.required, *fields.optional)
                                },
                            }
                        },
                    },
                }
                for event_type, fields in KEY_FIELDS.items()
            ],
            **rules(EVENT_RULES),
        },
    )

    event_id: UUID
    # Checked by the validators below (their errors tell reserved from unknown types); the schema
    # entries only document the rules in OpenAPI.
    event_type: str = Field(json_schema_extra={"enum": _CLIENT_EVENT_TYPE_NAMES})
    timestamp: Timestamp = Field(description="with an offset; at most 7 days old, 5 minutes ahead")
    # Checked by `_check_json` (depth first, so a deeply nested value fails at level 5 with one error).
    event_data: dict[str, Any] = Field(
        default_factory=dict,
        validate_default=True,  # an absent event_data lacks the key fields its type requires
        description=f"at most {MAX_EVENT_DATA_BYTES} bytes as compact JSON, {MAX_EVENT_DATA_DEPTH} levels "
        "deep, no e-mail addresses. video_played carries video_id and video_title, video_completed "
        "video_id and watch_percentage (0-100); video_id: 1-100 of letters, digits, '_', '.', ':', '-'; "
        f"video_title: 1-{MAX_VIDEO_TITLE_CHARS} characters",
        json_schema_extra={
            "propertyNames": {"pattern": f"^{_DATA_KEY.pattern}$"},
            "additionalProperties": _event_data_value_schema(2),
        },
    )
    session_id: str | None = Field(
        default=None,
        min_length=SESSION_ID_LENGTH[0],
        max_length=SESSION_ID_LENGTH[1],
        json_schema_extra={"pattern": f"^{_SESSION_ID.pattern}$"},
    )
    # Typed fields a client may fill, for `wizard_step_viewed` only (the service owns the others).
    wizard_step_reached: Annotated[StrictInt, Field(ge=1, le=5), WHOLE_NUMBER] | None = None
    step_duration_seconds: Annotated[StrictInt, Field(ge=0, le=86_400), WHOLE_NUMBER] | None = None

    @validates("event_type")
    @classmethod
    def _client_event_type(cls, value: str) -> str:
        allowed = _ALLOWED_CLIENT_EVENT_TYPES
        if value not in _EVENT_TYPES:
            raise PydanticCustomError(
                "unknown_event_type", "Unknown event type; clients may send {allowed}", {"allowed": allowed}
            )
        if value not in CLIENT_EVENT_TYPES:
            raise PydanticCustomError(
                "reserved_event_type",
                "This event type is recorded by the service itself; clients may send {allowed}",
                {"allowed": allowed},
            )
        return value

    @validates("timestamp")
    @classmethod
    def _recent(cls, value: datetime) -> datetime:
        now = datetime.now(UTC)
        if value > now + MAX_CLOCK_SKEW:
            raise PydanticCustomError("timestamp_in_future", "The timestamp is in the future")
        if value < now - MAX_EVENT_AGE:
            raise PydanticCustomError("timestamp_too_old", "The timestamp is older than 7 days")
        return value

    @validates("event_data")
    @classmethod
    def _bounded_data(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if _check_json(value, depth=1) > MAX_EVENT_DATA_BYTES:
            # Possibly over the limit (the bound is generous): serialize it to measure it.
            size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
            if size > MAX_EVENT_DATA_BYTES:
                raise PydanticCustomError(
                    "event_data_too_large",
                    "event_data is {size} bytes serialized; the limit is {limit}",
                    {"size": size, "limit": MAX_EVENT_DATA_BYTES},
                )
        key_fields = KEY_FIELDS.get(info.data.get("event_type", ""))
        if key_fields is not None:
            _key_fields(info.data["event_type"], key_fields, value)
        return value

    @validates("session_id")
    @classmethod
    def _opaque_session_id(cls, value: str | None) -> str | None:
        if value is not None and not _SESSION_ID.fullmatch(value):
            raise PydanticCustomError(
                "session_id_not_opaque",
                "session_id must be an opaque random token: 16-50 letters, digits, '-' or '_', "
                "at least one letter",
            )
        return value

    @validates("wizard_step_reached", "step_duration_seconds")
    @classmethod
    def _wizard_step_fields(cls, value: int | None, info: ValidationInfo) -> int | None:
        event_type = info.data.get("event_type")
        if value is not None and event_type is not None and event_type != MetricEventType.WIZARD_STEP_VIEWED:
            raise PydanticCustomError(
                "field_not_allowed_for_event_type", "Only wizard_step_viewed events carry this field"
            )
        return value


class MetricBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[ClientMetricEvent] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)

    def __repr__(self) -> str:
        # Powertools formats the route's arguments into a debug message on every request, log level
        # or not: the full repr of 100 events cost more than storing them. It also keeps client data
        # out of debug logs.
        return f"MetricBatch(<{len(self.events)} events>)"


# What `ingest` sends to the database: the events' own fields, named as `_ingest_statement` reads them.
_EVENTS_JSON: Final = TypeAdapter(list[ClientMetricEvent])


class IngestResult(BaseModel):
    accepted: int
    duplicates: int


def _check_json(value: object, depth: int) -> int:
    """Bounded nesting; only text PostgreSQL can store; no key or value that is obviously personal data.

    Returns an upper bound of the value's compact JSON size in UTF-8 bytes (a character takes at most
    6 bytes, as a \\u escape), so that only values that may be too large are serialized to measure them.
    """
    if isinstance(value, dict | list) and depth > MAX_EVENT_DATA_DEPTH:
        raise PydanticCustomError(
            "event_data_too_deep",
            "event_data nests deeper than {limit} levels",
            {"limit": MAX_EVENT_DATA_DEPTH},
        )
    if isinstance(value, dict):
        return _check_object(value, depth)
    if isinstance(value, list):
        return 2 + sum(_check_json(item, depth + 1) + 1 for item in value)
    if isinstance(value, str):
        _check_text(value)
        return 6 * len(value) + 2
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() // 3 + 2  # decimal digits and a sign
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PydanticCustomError("event_data_number", "event_data numbers must be finite")
        return 24
    raise PydanticCustomError("event_data_value", "event_data holds JSON values only")


def _key_fields(event_type: str, key_fields: KeyFields, data: dict[str, Any]) -> None:
    """The event type's key fields: present when required, each of its type and within its bounds."""
    for name in key_fields.required:
        if name not in data:
            raise PydanticCustomError(
                "event_data_key_missing",
                "{event_type} events carry event_data.{name}",
                {"event_type": event_type, "name": name},
            )
    for name in (*key_fields.required, *key_fields.optional):
        if name in data and not _KEY_FIELD_CHECKS[name](data[name]):
            raise PydanticCustomError(
                "event_data_key_invalid",
                "event_data.{name} must be {rule}",
                {"name": name, "rule": _KEY_FIELD_RULES[name]},
            )


def _video_id(value: object) -> bool:
    return isinstance(value, str) and _VIDEO_ID.fullmatch(value) is not None


def _video_title(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) <= MAX_VIDEO_TITLE_CHARS
        and bool(value.strip())
        and not _CONTROL_CHARACTERS.search(value)
    )


def _watch_percentage(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100


_KEY_FIELD_CHECKS: Final = {
    "video_id": _video_id,
    "video_title": _video_title,
    "watch_percentage": _watch_percentage,
}
_KEY_FIELD_RULES: Final = {
    "video_id": "an id of 1-100 letters, digits, '_', '.', ':' or '-'",
    "video_title": f"text of 1-{MAX_VIDEO_TITLE_CHARS} characters without control characters",
    "watch_percentage": "a number from 0 to 100",
}


def _check_object(value: dict[Any, Any], depth: int) -> int:
    """`_check_json` of a JSON object (its keys checked too)."""
    size = 2
    for key, item in value.items():
        if not _DATA_KEY.fullmatch(key):
            raise PydanticCustomError(
                "event_data_key", "event_data keys are snake_case names of at most 64 characters"
            )
        size += len(key) + 4  # "key":item,
        # The common values without a call of their own (every event's data goes through here).
        kind = type(item)
        if kind is str:
            _check_text(item)
            size += 6 * len(item) + 2
        elif kind is int:
            size += item.bit_length() // 3 + 2
        else:
            size += _check_json(item, depth + 1)
    return size


def _check_text(value: str) -> None:
    if "\x00" in value:
        raise PydanticCustomError("string_nul", "Text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("string_unicode", "Text must be valid Unicode") from None
    if _looks_like_email(value):
        raise PydanticCustomError("event_data_personal", "event_data must not contain e-mail addresses")


def _looks_like_email(text: str) -> bool:
    """`local@domain.tld` anywhere in the text. Linear time (a regex search over 4 KB of text without
    an '@' near the end backtracks quadratically: tens of milliseconds per string)."""
    if "@" not in text:
        return False
    for token in text.split():
        local, at, domain = token.partition("@")
        if at and local and "." in domain.strip("."):
            return True
    return False


def ingest(session: Session, org_id: str, batch: MetricBatch, user_agent: str | None) -> IngestResult:
    """Store a client batch once per event id, in one statement; duplicates (also within the batch,
    where the first occurrence wins) are counted, not stored. The same statement first counts the
    batch against the organization's daily cap (`metric_quota`: over it, a 429 and nothing stored;
    before onboarding has started, a 404 and nothing stored).

    The statement either stores the batch or writes nothing, so it is sent as its own transaction
    (`db.first_statement_alone`: no BEGIN and COMMIT, two round trips fewer)."""
    # An id twice in one batch: the first occurrence (sent in the batch's order, explicitly).
    first: dict[UUID, ClientMetricEvent] = {}
    for event in batch.events:
        first.setdefault(event.event_id, event)
    # The rows as the statement's one JSON parameter, serialized by pydantic-core in one call (building a
    # dict per event and `json.dumps` of them cost ~0.5 ms per 100 events). Timestamps are UTC
    # (validation.Timestamp), written RFC 3339 with their microseconds.
    rows = _EVENTS_JSON.dump_json(list(first.values())).decode()
    values = {
        **metric_quota.parameters(org_id, len(batch.events)),
        "agent": coarse_user_agent(user_agent),
        "batch": rows,
    }
    first_statement_alone(session)
    # On the session's connection, as the SQL compiled once (`_ingest_sql`): an ORM session would read
    # the parameters as rows to insert.
    connection = session.connection()
    sql, names, constants = _ingest_sql(connection.dialect)
    parameters = tuple(values[name] if name in values else constants[name] for name in names)
    reserved, accepted = connection.exec_driver_sql(sql, parameters).one()
    if not reserved:  # 404 (no such organization, or not started) or 429 (over the cap): nothing written
        metric_quota.refuse(session, org_id)
    return IngestResult(accepted=accepted, duplicates=len(batch.events) - accepted)


# The bound values `ingest` gives the statement per request; the others are constants of the statement.
_REQUEST_VALUES: Final = ("org_id", "events", "cap", "agent", "batch")


@cache
def _ingest_sql(dialect: Dialect) -> tuple[str, tuple[str, ...], Mapping[str, Any]]:
    """`_ingest_statement()` compiled once per container for the engine's dialect: its SQL text, the
    names of its positional parameters in order (a name once per placeholder), and the values of the
    constants it binds (the resend window, the cap's time zone...).

    Sent with `exec_driver_sql`, a batch skips SQLAlchemy's per-execution work on the compiled
    statement (its 16 parameters processed one by one, the result's metadata; ~0.25 ms of a ~6 ms
    batch, 2026-12-06): the statement's parameters need no processing on pg8000 (strings, integers, an
    interval; `tests/test_metrics_ingestion.py` holds them equal to what SQLAlchemy sends).
    """
    compiled = _ingest_statement().compile(dialect=dialect)
    assert compiled.positiontup is not None, "pg8000's paramstyle is positional"
    constants = compiled.construct_params(dict.fromkeys(_REQUEST_VALUES))
    return compiled.string, tuple(compiled.positiontup), constants


@cache
def _ingest_statement() -> Select[Any]:
    """WITH reserved AS (<the daily cap's upsert>), batch AS (SELECT FROM json_to_recordset(:batch)),
    keys AS (INSERT INTO onboarding_metric_event_key SELECT FROM batch WHERE EXISTS (SELECT FROM
    reserved) ON CONFLICT DO NOTHING RETURNING client_event_id), stored AS (INSERT INTO
    onboarding_metric SELECT FROM batch JOIN keys ... RETURNING 1) SELECT <a reservation was made>,
    <rows stored>: the batch travels as one JSON parameter.

    Built once per container: a statement with a bound value per field (700 for 100 events) had to be
    built, compiled and parsed by the driver on every request, which cost several times the insert.
    The cap's reservation rides in the same statement (one round trip instead of two); the key insert
    reads its RETURNING, so over the cap nothing is stored. Concurrent batches of one organization
    queue on its quota row as before (the upsert's row lock, held to the end of the transaction).

    The resend check is the key insert: `ON CONFLICT` always probes its arbiter, the primary key
    (organization_id, client_event_id), once per event, so its cost depends neither on statistics nor
    on how many events the organization stored (the NOT EXISTS over `onboarding_metric` it replaces
    was planned as a hash anti join over all of them in the window). A key comes back from RETURNING
    only when it is new; the metric rows are inserted for those keys only. Keys are kept for the
    resend window (`metrics.RESENT_BEFORE` after their timestamp, then deleted by the nightly
    maintenance): a resend is a duplicate at least RESEND_WINDOW after the first arrival, and until
    that maintenance run. Unlike a NOT EXISTS read from the statement's snapshot, `ON CONFLICT` also
    sees a key another transaction committed meanwhile, or waits for one in progress: two batches
    with the same ids at once store each event once.
    """
    # The events' JSON as pydantic writes it (field names of ClientMetricEvent; `event_id` is stored
    # as `client_event_id`), sent as text and cast: a JSONB bind would serialize the text again. Read
    # as `json`, not `jsonb`: the whole batch need not be converted to jsonb first (~0.2 ms of ~5.6 per
    # 100 events, 3 of 3 A/B runs); only each `event_data` is, as its column is. A CTE read twice (by
    # the key insert and by the metric insert) is materialized: the JSON is parsed once.
    columns = (
        column("event_id", PG_UUID(as_uuid=True)),
        column("event_type", String(50)),
        column("event_data", JSONB),
        column("wizard_step_reached", Integer),
        column("step_duration_seconds", Integer),
        column("session_id", String(50)),
        column("timestamp", DateTime(timezone=True)),
    )
    recordset = (
        func.json_to_recordset(cast(bindparam("batch", type_=String), JSON))
        .table_valued(*columns)
        .render_derived("batch", with_types=True)
    )
    batch = select(*recordset.columns).cte("batch")
    org = bindparam("org_id", type_=String)
    reserved = metric_quota.reservation().cte("reserved")
    key = onboarding_metric_event_key.c
    new_keys = pg_insert(onboarding_metric_event_key).from_select(
        ["organization_id", "client_event_id", "timestamp"],
        # Before onboarding has started (or for an unknown organization) nothing is reserved, and so
        # nothing stored: 404, as on every route but POST /v1/onboarding.
        select(org, batch.c.event_id, batch.c.timestamp).where(
            exists(select(literal_column("1")).select_from(reserved))
        ),
    )
    keys = (
        new_keys.on_conflict_do_nothing(index_elements=[key.organization_id, key.client_event_id])
        .returning(key.client_event_id)
        .cte("keys")
    )
    rows = select(*batch.columns, org, bindparam("agent", type_=String(500))).join_from(
        batch, keys, keys.c.client_event_id == batch.c.event_id
    )
    inserted = (
        pg_insert(onboarding_metric)
        .from_select(
            ["client_event_id", *(c.name for c in columns[1:]), "organization_id", "user_agent"], rows
        )
        .returning(literal_column("1"))
        .cte("stored")
    )
    return select(
        select(func.count()).select_from(reserved).scalar_subquery(),
        select(func.count()).select_from(inserted).scalar_subquery(),
    )


# --- User agent coarsening ---

_BOT = re.compile(r"bot|crawl|spider|slurp|curl|wget|python|java/|go-http|okhttp|headless", re.IGNORECASE)
_BROWSERS: Final = (
    ("Edge", re.compile(r"\bEdg(?:e|A|iOS)?/(\d{1,4})")),
    ("Opera", re.compile(r"\b(?:OPR|Opera)/(\d{1,4})")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/(\d{1,4})")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/(\d{1,4})")),
    ("Chrome", re.compile(r"\b(?:Chrome|CriOS)/(\d{1,4})")),
    ("Safari", re.compile(r"\bVersion/(\d{1,4})[.\d]* (?:Mobile/\S+ )?Safari/")),
)
_SYSTEMS: Final = (
    ("iOS", re.compile(r"iPhone|iPad|iPod")),
    ("Android", re.compile(r"Android")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Macintosh|Mac OS X")),
    ("Linux", re.compile(r"Linux|X11")),
)


def coarse_user_agent(header: str | None) -> str | None:
    """Browser family, major version and OS family ("Chrome 126 / Windows"): enough for device
    analysis, too little to fingerprint. Built only from fixed names and digits, never copied text."""
    if not header or not header.strip():
        return None
    return _coarse_user_agent(header[:1000])


# A browser sends the same header with every batch: each container remembers the answers for the last
# headers it saw (256 of at most 1000 characters), instead of up to 14 regular expression searches per
# request (~0.04 ms).
@lru_cache(maxsize=256)
def _coarse_user_agent(text: str) -> str:
    if _BOT.search(text):
        return "Bot"
    browser = next(
        (f"{name} {match.group(1)}" for name, pattern in _BROWSERS if (match := pattern.search(text))),
        "Other",
    )
    system = next((name for name, pattern in _SYSTEMS if pattern.search(text)), "Other")
    return f"{browser} / {system}"[:MAX_USER_AGENT_CHARS]
