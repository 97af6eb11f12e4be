"""``mosquitto.conf`` of a provisioned broker: an authenticated plain listener and TLS.

Both listeners refuse anonymous clients and use the generated password file
and ACL. The plain listener (default 1883) is meant for the broker's own
host or a private container network; devices on the building LAN and
gateways crossing the campus network use the TLS listener (default 8883)
with a server certificate, optionally requiring client certificates as
well. docs/security.md describes how to make the certificates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from devservices.mosquitto import BROKER_LIMITS, Listener, render_mosquitto_config


@dataclass(frozen=True)
class BrokerLayout:
    """Where the broker finds its files, and which ports it listens on."""

    #: directory of ``passwd`` and ``acl`` as the broker sees it
    config_dir: str = "/mosquitto/config"
    #: directory of ``ca.crt``, ``server.crt``, ``server.key`` as the broker sees it
    cert_dir: str = "/mosquitto/certs"
    data_dir: str | None = "/mosquitto/data/"
    port: int = 1883
    #: address of the plain listener; None binds every interface (inside a container)
    plain_bind: str | None = None
    tls_port: int = 8883
    tls_bind: str | None = None
    #: clients must also present a certificate signed by ``ca.crt``
    require_client_certs: bool = False
    log_dest: str = "stdout"
    run_as_user: str | None = None


def render_broker_config(broker: str, layout: BrokerLayout) -> str:
    config = PurePosixPath(layout.config_dir)
    certs = PurePosixPath(layout.cert_dir)
    passwd, acl = str(config / "passwd"), str(config / "acl")
    plain = Listener(
        port=layout.port,
        bind_address=layout.plain_bind,
        allow_anonymous=False,
        password_file=passwd,
        acl_file=acl,
    )
    tls = [
        f"# TLS listener of broker {broker!r}: server certificate signed by ca.crt.",
        f"listener {layout.tls_port}" + (f" {layout.tls_bind}" if layout.tls_bind else ""),
        "allow_anonymous false",
        f"password_file {passwd}",
        f"acl_file {acl}",
        f"cafile {certs / 'ca.crt'}",
        f"certfile {certs / 'server.crt'}",
        f"keyfile {certs / 'server.key'}",
        "tls_version tlsv1.2",
        f"require_certificate {'true' if layout.require_client_certs else 'false'}",
    ]
    return (
        f"# Broker {broker!r}, written by `dorm provision`; do not edit, re-run it.\n"
        + render_mosquitto_config(
            [plain],
            limits=BROKER_LIMITS,
            persistence_location=layout.data_dir,
            run_as_user=layout.run_as_user,
            log_dest=layout.log_dest,
            extra="\n".join(tls),
        )
    )
