"""``dorm server``: run the central server (ingest, REST API) under uvicorn."""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError

EXIT_OK = 0
EXIT_BAD_SETTINGS = 2

logger = logging.getLogger(__name__)


#: How long a shutdown waits for requests in progress (and open SSE streams).
SHUTDOWN_GRACE_S = 5


def run_server(args: argparse.Namespace) -> int:
    """Read the ``DORM_*`` settings, then serve ``create_app`` on ``--host``/``--port``."""
    import uvicorn

    from server.app import create_app
    from server.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"dorm server: invalid settings:\n{exc}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level="info",
        # Open SSE streams (/alerts/stream) never end by themselves: without a limit
        # uvicorn would wait for them forever on shutdown. After it they are cancelled.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    server = subparsers.add_parser(
        "server",
        help="run the central server (ingest, API, rules, dashboard)",
        description=(
            "Run the central server. SQLite by default; PostgreSQL when DORM_DATABASE_URL "
            "is set; InfluxDB when DORM_INFLUX_URL, _ORG, _BUCKET and _TOKEN are set."
        ),
    )
    server.add_argument("--host", default="127.0.0.1", help="address to listen on")
    server.add_argument("--port", type=int, default=8000, help="TCP port to listen on")
    server.set_defaults(handler=run_server)
