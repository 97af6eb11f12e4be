"""docker-compose.yml, validated without Docker: commands, mounts, secrets, health.

No Docker engine runs here, so this checks what can go wrong on paper: a
`dorm` subcommand the CLI does not have, a bind mount of a file that does not
exist, a secret written in clear or with a silent default, a dependency on the
health of a service that has no healthcheck, a broker config that lost the
queue limits.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import shlex
from pathlib import Path
from typing import Any, Final

import pytest
import yaml

from cli.main import build_parser
from devservices.mosquitto import BROKER_LIMITS

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
COMPOSE_FILE: Final = REPO_ROOT / "docker-compose.yml"
MOSQUITTO_CONF: Final = REPO_ROOT / "deploy" / "mosquitto" / "mosquitto.conf"

EXPECTED_SERVICES: Final = {
    "mosquitto",
    "mosquitto-b1",
    "postgres",
    "influxdb",
    "server",
    "gateway",
    "simulator",
}
SECRET_NAME: Final = re.compile(r"PASSWORD|TOKEN|SECRET", re.IGNORECASE)
REQUIRED_VAR: Final = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*:\?[^}]*\}$")
ANY_VAR: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")
URL_PASSWORD: Final = re.compile(r"://[^:/@\s]+:(?P<password>[^@]+)@")
#: A `$` compose would interpolate although it is not `${...}` (write `$$` for a literal).
BARE_DOLLAR: Final = re.compile(r"(?<!\$)\$(?![{$])")


def load_compose() -> dict[str, Any]:
    with COMPOSE_FILE.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    assert isinstance(document, dict), f"{COMPOSE_FILE} is not a mapping"
    return document


COMPOSE: Final = load_compose()
SERVICES: Final[dict[str, dict[str, Any]]] = COMPOSE["services"]


def command_argv(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    if isinstance(command, str):
        return shlex.split(command)
    return [str(part) for part in command]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


DORM_SERVICES: Final = sorted(
    name for name, service in SERVICES.items() if command_argv(service)[:1] == ["dorm"]
)


def test_compose_has_the_production_services() -> None:
    assert set(SERVICES) == EXPECTED_SERVICES
    assert SERVICES["mosquitto"]["image"] == "eclipse-mosquitto:2"
    assert SERVICES["postgres"]["image"] == "postgres:16"
    assert SERVICES["influxdb"]["image"] == "influxdb:2.7"
    assert DORM_SERVICES == ["gateway", "server", "simulator"]


@pytest.mark.parametrize("name", DORM_SERVICES)
def test_dorm_commands_exist_in_the_cli(name: str) -> None:
    argv = command_argv(SERVICES[name])
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            args = build_parser().parse_args(argv[1:])
    except SystemExit as exc:
        pytest.fail(
            f"service {name!r}: `{shlex.join(argv)}` is not a valid dorm command line "
            f"(argparse exit {exc.code}): {errors.getvalue().strip()}"
        )
    assert args.command == argv[1]


@pytest.mark.parametrize("name", DORM_SERVICES)
def test_dorm_services_are_built_from_the_repo_dockerfile(name: str) -> None:
    build = SERVICES[name].get("build")
    assert isinstance(build, dict), f"{name} has no build section"
    context = (REPO_ROOT / build["context"]).resolve()
    dockerfile = context / build.get("dockerfile", "Dockerfile")
    assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"
    text = dockerfile.read_text(encoding="utf-8")
    assert "FROM python:3.11-slim" in text
    assert "libzbar0" in text
    assert "pip install '.[all]'" in text
    # Every broker a part talks to (environment or --*-host flags) is a service here.
    argv = command_argv(SERVICES[name])
    hosts = [
        v for flag, v in itertools.pairwise(argv) if flag.endswith("-host") and flag != "--host"
    ]
    if "DORM_MQTT_HOST" in environment(SERVICES[name]):
        hosts.append(environment(SERVICES[name])["DORM_MQTT_HOST"])
    assert hosts, f"{name} names no broker"
    assert all(host in SERVICES for host in hosts), hosts


def volume_entries() -> list[tuple[str, str, str]]:
    """(service, type, source) of every volume of every service."""
    entries: list[tuple[str, str, str]] = []
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            if isinstance(volume, dict):
                entries.append((name, str(volume["type"]), str(volume.get("source", ""))))
                continue
            source = str(volume).split(":", 1)[0]
            is_path = source.startswith((".", "/", "~"))
            entries.append((name, "bind" if is_path else "volume", source))
    return entries


def test_bind_mounted_host_paths_exist() -> None:
    binds = [(name, source) for name, kind, source in volume_entries() if kind == "bind"]
    assert binds, "expected at least the Mosquitto config to be bind-mounted"
    for name, source in binds:
        assert not source.startswith("~"), f"{name}: {source} depends on the user's home"
        path = Path(source) if source.startswith("/") else REPO_ROOT / source
        assert path.exists(), f"service {name!r} mounts {source}, missing at {path}"


def test_named_volumes_are_declared() -> None:
    declared = set(COMPOSE.get("volumes") or {})
    for name, kind, source in volume_entries():
        if kind == "volume":
            assert source in declared, f"service {name!r} uses undeclared volume {source!r}"


def test_secrets_are_required_variables_never_literals() -> None:
    checked = 0
    for name, service in SERVICES.items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key):
                checked += 1
                assert REQUIRED_VAR.match(value), (
                    f"service {name!r}: {key} must be given as ${{VAR:?message}}, got {value!r}"
                )
            url_password = URL_PASSWORD.search(value)
            if url_password is not None:
                checked += 1
                assert REQUIRED_VAR.match(url_password["password"]), (
                    f"service {name!r}: the password in {key} must be ${{VAR:?message}}"
                )
    assert checked >= 5


def test_secret_variables_never_have_a_default_anywhere() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    found = ANY_VAR.findall(text)
    assert found
    for variable, modifier in found:
        if SECRET_NAME.search(variable):
            assert modifier.startswith(":?"), f"${{{variable}{modifier}}} must use :?"


def test_no_bare_dollar_that_compose_would_interpolate() -> None:
    for number, line in enumerate(COMPOSE_FILE.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        assert not BARE_DOLLAR.search(line), f"docker-compose.yml:{number}: write $$ for a $"


def test_health_conditions_point_at_services_with_healthchecks() -> None:
    for name, service in SERVICES.items():
        depends_on = service.get("depends_on") or {}
        if isinstance(depends_on, list):
            depends_on = {target: {"condition": "service_started"} for target in depends_on}
        for target, spec in depends_on.items():
            assert target in SERVICES, f"{name!r} depends on unknown service {target!r}"
            if spec.get("condition") == "service_healthy":
                assert "healthcheck" in SERVICES[target], (
                    f"{name!r} waits for {target!r} to be healthy, but it has no healthcheck"
                )
    for name in ("mosquitto", "postgres", "influxdb", "server"):
        assert "healthcheck" in SERVICES[name], f"{name!r} has no healthcheck"


def config_directives(path: Path) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            key, _, value = stripped.partition(" ")
            directives.setdefault(key, []).append(value.strip())
    return directives


def test_mosquitto_config_keeps_the_project_queue_limits() -> None:
    mounted = SERVICES["mosquitto"]["volumes"][0]
    assert mounted.startswith("./deploy/mosquitto/mosquitto.conf:/mosquitto/config/")
    directives = config_directives(MOSQUITTO_CONF)
    assert directives["per_listener_settings"] == ["true"]
    assert directives["max_queued_messages"] == [str(BROKER_LIMITS.max_queued_messages)]
    assert directives["max_queued_bytes"] == [str(BROKER_LIMITS.max_queued_bytes)]
    assert directives["max_inflight_messages"] == [str(BROKER_LIMITS.max_inflight_messages)]
    assert directives["listener"] == ["1883"]
    assert directives["persistence_location"] == ["/mosquitto/data/"]
