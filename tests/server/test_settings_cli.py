"""Settings refuse the public development secrets outside development; the CLI command."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from cli.commands import server as server_command
from devservices.ports import find_free_port
from server.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def test_default_secret_is_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DORM_SECRET_KEY", raising=False)
    assert Settings(environment="development").secret_key
    with pytest.raises(ValidationError, match="DORM_SECRET_KEY must be set"):
        Settings(environment="production", card_hash_key="k" * 32)
    with pytest.raises(ValidationError, match="DORM_CARD_HASH_KEY must be set"):
        Settings(environment="production", secret_key="s" * 40)
    ok = Settings(environment="production", secret_key="s" * 40, card_hash_key="k" * 32)
    assert ok.influx_connection() is None


def test_settings_come_from_dorm_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DORM_DATABASE_URL", "postgresql+psycopg://db/dorm")
    monkeypatch.setenv("DORM_MQTT_TOPIC_FILTER", "$share/workers/dorm/v1/b1/#")
    for name, value in (("URL", "http://tsdb:8086"), ("ORG", "o"), ("BUCKET", "b")):
        monkeypatch.setenv(f"DORM_INFLUX_{name}", value)
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://db/dorm"
    assert settings.mqtt_topic_filter == "$share/workers/dorm/v1/b1/#"
    assert settings.influx_connection() is None  # no token yet
    monkeypatch.setenv("DORM_INFLUX_TOKEN", "t")
    assert Settings().influx_connection() == ("http://tsdb:8086", "o", "b", "t")


def test_server_command_refuses_bad_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DORM_ENVIRONMENT", "production")
    monkeypatch.delenv("DORM_SECRET_KEY", raising=False)
    args = argparse.Namespace(host="127.0.0.1", port=find_free_port())
    assert server_command.run_server(args) == server_command.EXIT_BAD_SETTINGS


_RUN_HANDLER = """
import argparse, sys
from cli.commands import server
parser = argparse.ArgumentParser()
server.register(parser.add_subparsers())
args = parser.parse_args(["server", "--port", sys.argv[1]])
sys.exit(args.handler(args))
"""


def test_server_command_serves_the_api(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DORM_DATABASE_URL": f"sqlite:///{tmp_path / 'dorm.db'}",
        "DORM_MQTT_ENABLED": "false",
        "DORM_TOKEN_KEY_DIR": str(tmp_path / "keys"),
    }
    port = find_free_port()
    process = subprocess.Popen([sys.executable, "-c", _RUN_HANDLER, str(port)], cwd=REPO, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert process.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the server did not start listening"
                time.sleep(0.1)
        response = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5)
        assert response.status_code == 200
        assert "/api/v1/access-events" in response.json()["paths"]
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/me", timeout=5).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert (tmp_path / "dorm.db").exists()
