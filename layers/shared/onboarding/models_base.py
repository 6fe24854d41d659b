"""The declarative base of the SQLAlchemy 2 typed models, and what the model modules share.

The models are split per concept (`models_state`, `models_host`, `models_metrics`...) so that a function
maps only the tables its code uses: mapping a class is most of the service's own import time at a
cold start (bench/README.md, "Cold start"). `onboarding.models` imports every one of them: migrations,
the schema tests and the tools use it to see the whole schema. No function imports this module at its
cold start: the Core tables' metadata is `schema.METADATA`, which `Base` shares.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

from onboarding.schema import (
    BASELINE_TABLE_COMMENT,
    EMPTY_JSON_ARRAY,
    EMPTY_JSON_OBJECT,
    METADATA,
    NAMING_CONVENTION,
    SCHEMA_ONLY,
    add_schema_only_objects,
)

__all__ = [
    "BASELINE_TABLE_COMMENT",
    "EMPTY_JSON_ARRAY",
    "EMPTY_JSON_OBJECT",
    "NAMING_CONVENTION",
    "SCHEMA_ONLY",
    "Base",
    "add_schema_only_objects",
]


class Base(DeclarativeBase):
    metadata = METADATA
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
        list[str]: JSONB,
    }
