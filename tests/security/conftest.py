"""Fixtures of the security tests: a provisioned campus and its real brokers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioning.writer import ProvisionResult, provision
from siteconfig import CampusConfig, load_config_dir
from tests.security.brokers import ProvisionedBroker, free_port_pair, local_layout
from tests.security.certs import make_certs

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Provisioned:
    campus: CampusConfig
    out: Path
    result: ProvisionResult
    brokers: dict[str, ProvisionedBroker]
    certs: Path

    def password(self, user: str) -> str:
        folder = "devices"
        if user == "server":
            return (self.out / "server" / "mqtt-password").read_text().strip()
        if user.endswith("-gw"):
            folder = "gateways"
        return (self.out / folder / user / "mqtt-password").read_text().strip()


@pytest.fixture(scope="session")
def campus() -> CampusConfig:
    return load_config_dir(ROOT / "firmware-config")


@pytest.fixture(scope="module")
def provisioned(
    campus: CampusConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Provisioned]:
    """``dorm provision`` of the example campus, with b1's and the central broker running."""
    out = tmp_path_factory.mktemp("provisioned")
    certs = make_certs(tmp_path_factory.mktemp("certs"))
    ports = {name: free_port_pair() for name in ("central", "b1")}
    layouts = {name: local_layout(out, name, certs, *pair) for name, pair in ports.items()}
    result = provision(campus, out, layout=layouts)
    brokers = {
        name: ProvisionedBroker(out / "brokers" / name / "mosquitto.conf", *pair)
        for name, pair in ports.items()
    }
    started: list[ProvisionedBroker] = []
    try:
        for broker in brokers.values():
            started.append(broker.start())
        yield Provisioned(campus, out, result, brokers, certs)
    finally:
        for broker in started:
            broker.close()
