"""`make dev`: start the embedded PostgreSQL, migrate it, and run sample requests through a handler.

Prints each response. The database lives in .local/pgdata and keeps its data between runs.
"""

import json
import sys
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tools.lambda_events import DEMO_ORG_ID, EVENTS_DIR, local_context
from tools.local_db import (
    ROOT,
    create_database,
    embedded_server_url,
    migrate,
    start_embedded_postgres,
    use_database,
)

INSERT_DEMO_ORG = (
    "INSERT INTO organizations (id, name) VALUES (:id, 'Demo Community Church') ON CONFLICT DO NOTHING"
)
DEMO_EVENTS = ["onboarding_start.json", "onboarding_get.json"]


def prepare_local_database() -> str:
    server = start_embedded_postgres(ROOT / ".local" / "pgdata")
    url = create_database(embedded_server_url(server), "onboarding_dev")
    migrate(url)
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(
            text(INSERT_DEMO_ORG),
            {"id": DEMO_ORG_ID},
        )
    engine.dispose()
    use_database(url)
    return url


def main() -> int:
    url = prepare_local_database()
    print(f"Embedded PostgreSQL ready and migrated: {url}")
    from functions.onboarding.app import lambda_handler

    for name in DEMO_EVENTS:
        event = json.loads(Path(EVENTS_DIR / name).read_text())
        response = lambda_handler(event, local_context(function_name="OnboardingFunction"))
        http = event["requestContext"]["http"]
        print(f"\n{http['method']} {http['path']}  ->  {response['statusCode']}")
        print(json.dumps(json.loads(response["body"]), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
