"""The real server under uvicorn on a free port, seeded like tests.server.apiclient, for SSE."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final

import httpx
import uvicorn

from cli.commands.server import SHUTDOWN_GRACE_S
from server.alerts.system import EngineFactory
from server.app import create_app
from server.db import UserAccount
from server.runtime import Runtime
from server.security import create_access_token, hash_password, utcnow
from server.seed import import_people, import_roster, seed_site
from server.settings import Settings
from siteconfig import load_config_dir
from tests.server.apiclient import EXAMPLES, PASSWORD, REPO, USERS

_PASSWORD_HASH: Final = hash_password(PASSWORD)


@dataclass
class LiveServer:
    base_url: str
    runtime: Runtime
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


def _seed(runtime: Runtime, settings: Settings) -> dict[str, str]:
    with runtime.sessions() as session, session.begin():
        seed_site(session, load_config_dir(REPO / "firmware-config"))
        import_people(
            session, (EXAMPLES / "people.csv").read_text(), settings.card_hash_key.encode()
        )
        import_roster(session, (EXAMPLES / "roster.csv").read_text())
        accounts = {
            name: UserAccount(username=name, password_hash=_PASSWORD_HASH, role=role, person_id=p)
            for name, (role, p) in USERS.items()
        }
        session.add_all(accounts.values())
        session.flush()
        ids = {name: account.id for name, account in accounts.items()}
    return {
        name: create_access_token(
            user_id, settings.secret_key, settings.access_token_expire_s, utcnow()
        )
        for name, user_id in ids.items()
    }


@contextmanager
def live_server(
    settings: Settings, engine_factory: EngineFactory | None = None
) -> Iterator[LiveServer]:
    app = create_app(settings, engine_factory)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        runtime: Runtime = app.state.runtime
        live = LiveServer(f"http://127.0.0.1:{port}", runtime, _seed(runtime, settings))
        yield live
    finally:
        server.should_exit = True
        thread.join(30)


def client(live: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=live.base_url, timeout=httpx.Timeout(10.0))
