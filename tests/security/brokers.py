"""A real Mosquitto started with exactly the files ``dorm provision`` wrote."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from devservices.base import DevService
from devservices.mosquitto import MOSQUITTO_FALLBACK
from devservices.ports import LOCALHOST, find_free_ports, port_accepts
from devservices.process import ChildProcess, find_binary, wait_until_ready
from provisioning.brokerconf import BrokerLayout


def local_layout(out: Path, broker: str, cert_dir: Path, port: int, tls_port: int) -> BrokerLayout:
    """The provisioning layout for a broker run from ``out`` on private local ports."""
    return BrokerLayout(
        config_dir=str(out / "brokers" / broker),
        cert_dir=str(cert_dir),
        data_dir=None,
        port=port,
        plain_bind=LOCALHOST,
        tls_port=tls_port,
        tls_bind=LOCALHOST,
        log_dest="stderr",
        run_as_user=pwd.getpwuid(os.geteuid()).pw_name,
    )


class ProvisionedBroker(DevService):
    """``mosquitto -c out/brokers/<broker>/mosquitto.conf``; nothing of our own added."""

    service_name = "mosquitto-provisioned"

    def __init__(self, config_path: Path, port: int, tls_port: int) -> None:
        super().__init__(start_timeout_s=15.0, stop_timeout_s=10.0, base_dir=None, ports_given=True)
        self.config_path = config_path
        self._port = port
        self.tls_port = tls_port
        self._process: ChildProcess | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    def _choose_ports(self) -> None:
        raise AssertionError("ports are given")  # pragma: no cover

    def _prepare(self) -> None:
        pass

    def _launch(self) -> None:
        binary = find_binary("mosquitto", [MOSQUITTO_FALLBACK], package_hint="mosquitto")
        self._process = ChildProcess(
            self.service_name, [str(binary), "-c", str(self.config_path)], self.log_path
        )
        self._process.spawn()

    def _wait_ready(self) -> None:
        process = self._process
        assert process is not None
        wait_until_ready(
            self.service_name,
            lambda: port_accepts(LOCALHOST, self.port) and port_accepts(LOCALHOST, self.tls_port),
            timeout_s=self.start_timeout_s,
            log_path=self.log_path,
            alive=lambda: process.running,
        )

    def _shutdown(self) -> None:
        if self._process is not None:
            self._process.terminate(self.stop_timeout_s)

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()


def free_port_pair() -> tuple[int, int]:
    first, second = find_free_ports(2)
    return first, second
