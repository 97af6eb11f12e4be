"""A seeded server application for API tests: example campus, people and one login per role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from fastapi.testclient import TestClient

from server.app import create_app
from server.db import UserAccount
from server.runtime import Runtime
from server.security import create_access_token, hash_password, utcnow
from server.seed import import_people, import_roster, seed_site
from server.settings import Settings
from siteconfig import load_config_dir

REPO: Final = Path(__file__).resolve().parents[2]
EXAMPLES: Final = REPO / "server" / "examples"
PASSWORD: Final = "correct horse battery"
# Hashed once: argon2 is slow on purpose, and every test seeds five logins.
_PASSWORD_HASH: Final = hash_password(PASSWORD)

#: Login name → (role, person): a student in b1, one in b2, b1's counselor, a guard, an admin.
USERS: Final = {
    "student": ("student", "p-s0001"),
    "student-b2": ("student", "p-s0025"),
    "counselor": ("counselor", "p-c001"),
    "security": ("security", "p-g001"),
    "admin": ("admin", None),
}


@dataclass
class SeededApi:
    client: TestClient
    runtime: Runtime
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": database_url,
        "secret_key": "test-secret-key-0123456789-0123456789-abcdef",
        "card_hash_key": "test-card-hash-key-0123456789",
        "token_key_dir": tmp_path / "keys",
        "mqtt_enabled": False,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@contextmanager
def seeded_api(settings: Settings) -> Iterator[SeededApi]:
    app = create_app(settings)
    with TestClient(app) as client:
        runtime: Runtime = app.state.runtime
        with runtime.sessions() as session, session.begin():
            seed_site(session, load_config_dir(REPO / "firmware-config"))
            import_people(
                session,
                (EXAMPLES / "people.csv").read_text(),
                settings.card_hash_key.encode(),
            )
            import_roster(session, (EXAMPLES / "roster.csv").read_text())
            accounts = {
                username: UserAccount(
                    username=username, password_hash=_PASSWORD_HASH, role=role, person_id=person
                )
                for username, (role, person) in USERS.items()
            }
            session.add_all(accounts.values())
            session.flush()
            ids = {username: account.id for username, account in accounts.items()}
        api = SeededApi(client=client, runtime=runtime)
        for username, user_id in ids.items():
            api.tokens[username] = create_access_token(
                user_id, settings.secret_key, settings.access_token_expire_s, utcnow()
            )
        yield api
