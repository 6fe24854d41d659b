"""JSON Schema (draft 2020-12) of every published event's `detail`, generated from the pydantic models.

`python -m tools.event_schemas` rewrites events/schemas/; tests/test_event_schemas.py fails when a
committed file no longer matches the models.
"""

import json
import sys
from pathlib import Path
from typing import Any

from onboarding.domain_events import DETAIL_MODELS, DomainEventType
from onboarding.published_events import PUBLISHED_DETAIL_MODELS
from onboarding.settings import Settings

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "events" / "schemas"


def detail_schema(event_type: DomainEventType) -> dict[str, Any]:
    model = PUBLISHED_DETAIL_MODELS[event_type]
    # Serialization mode: the JSON consumers receive, where every field (defaults included) is present.
    schema = model.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{event_type.value} detail",
        "description": (
            f"{DETAIL_MODELS[event_type].__doc__} `detail` of the EventBridge event with detail-type"
            f" `{event_type.value}` and source `{Settings().event_source}` (EVENT_SOURCE)."
            " Delivery is at-least-once: deduplicate on `event_id`."
        ),
        **{key: value for key, value in schema.items() if key not in {"title", "description"}},
    }


def rendered() -> dict[Path, str]:
    return {
        SCHEMAS_DIR / f"{event_type.value}.json": json.dumps(detail_schema(event_type), indent=2) + "\n"
        for event_type in DomainEventType
    }


def main() -> int:
    SCHEMAS_DIR.mkdir(parents=True, exist_ok=True)
    for path, text in rendered().items():
        path.write_text(text)
        print(f"wrote {path.relative_to(SCHEMAS_DIR.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
