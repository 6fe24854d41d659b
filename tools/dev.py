"""`make dev`: prepare the local database, send the demo requests through a handler, then serve the API.

1. Start the embedded PostgreSQL (.local/pgdata, kept between runs; or DATABASE_URL), migrate it and
   create the demo organization.
2. Send the events in DEMO_EVENTS through the function the template routes them to (the in-process
   runner) and print each response.
3. Seed the analyst dashboard's demo data set once (tools/demo_data.py: organizations in every
   stage of onboarding, in each variant of a demo experiment).
4. Start the local HTTP API (tools/serve.py, DEV ONLY: unverified JWTs, loopback only) and, beside
   it, the analyst dashboard signed in as a dev analyst (tools/dashboard.py), unless `--no-serve` or
   `DEV_SERVE=0`.
"""

import argparse
import json
import os
import sys

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from tools import dashboard, demo_data, serve
from tools.invoke import invoke_event_file
from tools.lambda_events import EVENTS_DIR
from tools.local_db import prepare_local_database
from tools.template import apply_environment, functions

DEMO_EVENTS = ["onboarding_start.json", "onboarding_get.json"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-serve", action="store_true", help="stop after the demo requests")
    parser.add_argument("--host", default=serve.DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=serve.DEFAULT_PORT)
    parser.add_argument("--dashboard-port", type=int, default=dashboard.DEFAULT_PORT)
    args = parser.parse_args(argv)
    start_server = not args.no_serve and os.environ.get("DEV_SERVE", "1") != "0"
    if start_server:
        serve.ensure_loopback(args.host)  # fail before doing anything else

    for spec in functions().values():
        apply_environment(spec)  # POWERTOOLS_SERVICE_NAME etc., as in AWS
    url = prepare_local_database()
    print(f"Database ready and migrated: {url}")
    for name in DEMO_EVENTS:
        event, spec, response = invoke_event_file(EVENTS_DIR / name)
        http = event["requestContext"]["http"]
        print(f"\n{http['method']} {http['path']}  ->  {spec.logical_id}  ->  {response['statusCode']}")
        print(json.dumps(json.loads(response["body"]), indent=2))

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            if demo_data.seed_once(connection):
                print(f"\nSeeded the dashboard's demo data: {demo_data.DEFAULT_COUNT} organizations")
    finally:
        engine.dispose()

    if start_server:
        api_url = f"http://{args.host}:{args.port}"
        board = dashboard.create_dashboard_server(api_url, args.host, args.dashboard_port)
        dashboard.serve_in_background(board)
        print(
            f"\nAnalyst dashboard (DEV ONLY, signed in as a dev analyst): http://{args.host}:{args.dashboard_port}/"
        )
        try:
            serve.serve(args.host, args.port)
        finally:
            board.shutdown()
            board.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
