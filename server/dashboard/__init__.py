"""The operations dashboard: static HTML, ES modules and CSS served by the server at ``/``.

No build step: the files under ``static/`` are what the browser loads. They
call the REST API with the bearer token kept in ``sessionStorage``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at ``/``; call after every API route is included.

    A mount at ``/`` only sees what no route before it matched, so ``/api/v1``,
    ``/docs`` and ``/openapi.json`` keep working.
    """
    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard")
