"""Primary keys: a readable prefix plus 128 random bits.

The seed's `f"metric_{org}_{ms}"` collides for two rows in one millisecond and overflows VARCHAR(50) for
long org ids. `<prefix>_<32 hex>` is unique without coordination and at most 50 characters for any
prefix up to 17 characters. The database generates them (column server defaults, see `id_default`), so
set-based INSERT ... SELECT statements need no per-row Python.
"""

import uuid

from sqlalchemy import TextClause, text

MAX_PREFIX_LENGTH = 17
# SignUpFlow's own primary keys (organizations, people, ...: VARCHAR(50)), as they arrive in token
# claims and host events; anything else is garbled.
HOST_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,50}$"
# Experiment and variant ids: snake_case names (migration 0006 holds the table to them too).
EXPERIMENT_ID_PATTERN = r"^[a-z][a-z0-9_]{0,49}$"


def new_id(prefix: str) -> str:
    _check_prefix(prefix)
    return f"{prefix}_{uuid.uuid4().hex}"


def id_default(prefix: str) -> TextClause:
    """Server default producing the same shape as `new_id` (gen_random_uuid is core since PostgreSQL 13)."""
    _check_prefix(prefix)
    return text(f"('{prefix}_'::text || replace((gen_random_uuid())::text, '-'::text, ''::text))")


def _check_prefix(prefix: str) -> None:
    if not (prefix.isidentifier() and prefix.islower() and len(prefix) <= MAX_PREFIX_LENGTH):
        raise ValueError(f"bad id prefix {prefix!r}")
