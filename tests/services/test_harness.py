"""The launchers themselves: clear errors, port handling, clean-up, restarts with data."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from devservices import (
    BROKER_LIMITS,
    AclRule,
    BinaryNotFoundError,
    DevServiceError,
    Listener,
    MosquittoBroker,
    PortInUseError,
    PostgresCluster,
    ServiceStartError,
    VictoriaMetrics,
    VictoriaMetricsHttpError,
    render_acl,
    render_mosquitto_config,
)
from devservices import mosquitto as mosquitto_module
from devservices.ports import LOCALHOST, find_free_ports, port_accepts
from devservices.postgres import find_postgres_bin_dir
from devservices.process import find_binary


@pytest.fixture
def listening_socket() -> Iterator[socket.socket]:
    """A port something else already listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        sock.listen()
        yield sock


def test_missing_binary_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BinaryNotFoundError, match=r"no-such-broker.*not found on PATH") as info:
        find_binary("no-such-broker", [tmp_path / "sbin" / "no-such-broker"], package_hint="x")
    assert isinstance(info.value, DevServiceError)
    assert isinstance(info.value, FileNotFoundError)
    assert str(tmp_path / "sbin" / "no-such-broker") in str(info.value)


def test_missing_postgres_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BinaryNotFoundError, match="initdb, pg_ctl, createdb"):
        find_postgres_bin_dir(str(tmp_path / "postgresql" / "*" / "bin"))


def test_explicit_missing_binary_fails_start_and_cleans_up(tmp_path: Path) -> None:
    broker = MosquittoBroker(binary=tmp_path / "mosquitto", base_dir=tmp_path)
    with pytest.raises(BinaryNotFoundError):
        broker.start()
    assert list(tmp_path.iterdir()) == []  # the failed first start removed its temp dir


def test_start_failure_carries_the_log_tail(tmp_path: Path) -> None:
    broker = MosquittoBroker(extra_config="no_such_option true", base_dir=tmp_path)
    with pytest.raises(ServiceStartError, match="mosquitto exited while starting") as info:
        broker.start()
    # Mosquitto's own complaint, read from its log, is in the message.
    assert "no_such_option" in str(info.value)
    assert not broker.running
    assert list(tmp_path.iterdir()) == []


def test_taken_port_given_explicitly_is_reported(listening_socket: socket.socket) -> None:
    taken = int(listening_socket.getsockname()[1])
    [free] = find_free_ports(1)
    broker = MosquittoBroker(port=taken, auth_port=free)
    with pytest.raises(PortInUseError, match="port is taken"):
        broker.start()


def test_port_taken_between_choice_and_bind_is_retried(
    listening_socket: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = int(listening_socket.getsockname()[1])
    choices: list[list[int]] = []

    def first_a_taken_port(count: int = 1, host: str = LOCALHOST) -> list[int]:
        ports = find_free_ports(count, host)
        if not choices:
            ports[0] = taken
        choices.append(ports)
        return ports

    monkeypatch.setattr(mosquitto_module, "find_free_ports", first_a_taken_port)
    with MosquittoBroker() as broker:
        assert len(choices) == 2
        assert broker.port == choices[1][0] != taken
        assert port_accepts(broker.host, broker.port)


def test_close_stops_the_service_and_deletes_its_files(tmp_path: Path) -> None:
    broker = MosquittoBroker(base_dir=tmp_path).start()
    workdir, port = broker.workdir, broker.port
    assert workdir.parent == tmp_path
    assert port_accepts(broker.host, port)
    broker.close()
    assert not broker.running
    assert not workdir.exists()
    assert not port_accepts(LOCALHOST, port)
    broker.close()  # a second close is harmless
    with pytest.raises(DevServiceError, match="has not been started"):
        _ = broker.workdir


def test_broker_config_carries_the_project_limits() -> None:
    config = render_mosquitto_config([Listener(port=1883)])
    directives = {
        line.split()[0]: line.split()[1]
        for line in config.splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert directives["per_listener_settings"] == "true"
    assert directives["max_queued_messages"] == str(BROKER_LIMITS.max_queued_messages)
    assert directives["max_queued_bytes"] == "0"
    assert directives["max_inflight_messages"] == str(BROKER_LIMITS.max_inflight_messages)
    assert BROKER_LIMITS.max_queued_messages > 1000  # Mosquitto's lossy default


def test_acl_rendering_and_validation() -> None:
    text_ = render_acl(
        [
            AclRule("public/#", "read"),
            AclRule("dorm/v1/b1/dev/%c/#", "write", pattern=True),
            AclRule("dorm/v1/b1/dev/dev-a/#", "write", username="dev-a"),
            AclRule("dorm/v1/b1/dev/dev-a/cmd/#", "read", username="dev-a"),
        ]
    )
    assert text_.splitlines() == [
        "topic read public/#",
        "pattern write dorm/v1/b1/dev/%c/#",
        "",
        "user dev-a",
        "topic write dorm/v1/b1/dev/dev-a/#",
        "topic read dorm/v1/b1/dev/dev-a/cmd/#",
    ]
    with pytest.raises(ValueError, match="without whitespace"):
        render_acl([AclRule("a b", "read")])
    with pytest.raises(ValueError, match="user name"):
        MosquittoBroker(users={"a:b": "pw"})
    with pytest.raises(ValueError, match="one line"):
        MosquittoBroker(users={"dev-a": "pw\nallow_anonymous true"})


def test_postgres_keeps_data_across_stop_and_kill() -> None:
    with PostgresCluster(database="keep") as cluster:
        port = cluster.port
        engine = create_engine(cluster.url)
        try:
            with engine.begin() as connection:
                connection.execute(text("CREATE TABLE kept (n int)"))
                connection.execute(text("INSERT INTO kept VALUES (1)"))
            engine.dispose()
            cluster.stop()
            assert not cluster.running
            cluster.start()
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO kept VALUES (2)"))
            engine.dispose()
            cluster.kill()  # a crash: committed rows survive it
            assert not cluster.running
            cluster.start()
            assert cluster.port == port
            with engine.connect() as connection:
                rows = connection.execute(text("SELECT n FROM kept ORDER BY n")).scalars().all()
        finally:
            engine.dispose()
    assert rows == [1, 2]


def test_victoria_keeps_data_across_restart_and_reports_bad_queries() -> None:
    with VictoriaMetrics() as server:
        port = server.port
        # Stamped now: see wait_for_export for why this waits.
        assert 200 <= server.write_line_protocol("kept,building=b1 value=1") < 300
        server.wait_for_export("kept_value")
        server.stop()
        server.start()
        assert server.port == port
        [series] = server.export("kept_value")
        assert series["values"] == [1]
        with pytest.raises(VictoriaMetricsHttpError, match="400"):
            server.export("{this is not a selector")
