"""Opaque keyset cursors: the sort key of the last row of a page, base64url-encoded JSON.

A client cannot craft anything but another position in the same ordering; a cursor that does not
decode to the expected shape is a 422 naming the parameter, never a 500.
"""

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Final

from onboarding.errors import InvalidInput
from onboarding.field_errors import field_error

MAX_CURSOR_LENGTH: Final = 300
# What every cursor this API returns looks like (base64url without padding): stated in openapi.json, so
# only a value of this form that does not decode to a position reaches `decode_cursor`'s 422.
CURSOR_PATTERN: Final = r"^[A-Za-z0-9_-]+$"
CURSOR_INVALID: Final = "cursor_invalid"
CURSOR_RULES: Final = {
    CURSOR_INVALID: "`cursor` is a `next_cursor` this API returned for the same listing (a value of the "
    "pattern that does not decode to a position in it is refused).",
}


def encode_cursor(at: datetime, row_id: str) -> str:
    raw = json.dumps([at.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, *, field: str = "query.cursor") -> tuple[datetime, str]:
    """The (timestamp, id) position a cursor names; InvalidInput when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        at, row_id = json.loads(raw)
        position = datetime.fromisoformat(at)
        if position.tzinfo is None or not isinstance(row_id, str) or not 0 < len(row_id) <= 50:
            raise ValueError("not a cursor")
        # In UTC, as the driver sends it: an offset that pushes it past year 1..9999 fails here, not there.
        position = position.astimezone(UTC)
        row_id.encode("utf-8")
        if "\x00" in row_id:
            raise ValueError("not a cursor")
    except (ValueError, TypeError, OverflowError, binascii.Error, RecursionError, UnicodeError):
        raise InvalidInput(
            "The cursor is not valid; pass the next_cursor of a previous page.",
            details=[field_error(field, "not a cursor returned by this API", CURSOR_INVALID)],
        ) from None
    return position, row_id
