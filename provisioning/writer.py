"""``dorm provision``: write credentials, password files, ACLs, broker configs and keys.

Output directory (everything secret is mode 0600; the directory itself must
be kept like a key store)::

    secrets.json                       user -> password and its hash (the state
                                       that makes re-runs and rotation stable)
    brokers/{central,<building>}/      passwd, acl, mosquitto.conf
    devices/<device>/                  mqtt-username, mqtt-password, downlink-keys.json,
                                       card-hash.key (gates, when the key is given)
    gateways/<gateway>/                mqtt-username, mqtt-password,
                                       downlink.key (fire_release only), downlink-keys.json
    server/                            mqtt-username, mqtt-password, downlink.key

A re-run keeps every existing password, hash and key (so nothing changes
unless the configuration did); ``rotate`` gives the named users a new
password and hash and changes nothing else, not even another user's line
of a password file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import msgspec

from devservices.mosquitto import render_acl
from protocol.downlink import KeyScope, TrustedKey, TrustFile
from protocol.signing import DownlinkSigner, load_signer
from provisioning.acl import broker_rules
from provisioning.brokerconf import BrokerLayout, render_broker_config
from provisioning.passwords import mosquitto_hash, new_password
from provisioning.principals import SERVER_USER, Principal, Role, brokers, principals
from siteconfig import CampusConfig

log = logging.getLogger(__name__)

SECRETS_FILE: Final = "secrets.json"
TRUST_FILE: Final = "downlink-keys.json"
SIGNING_KEY_FILE: Final = "downlink.key"
#: What a gate reads its card-hash key from (edge.runtime.CARD_KEY_FILE).
CARD_KEY_FILE: Final = "card-hash.key"
MIN_CARD_KEY_BYTES: Final = 16
#: The key id of the server's downlink key (gateways' keys are named by gateway id).
SERVER_KID: Final = "server"


class ProvisionError(ValueError):
    """Provisioning that cannot be done as asked (unknown user to rotate, bad state file)."""


class Credential(msgspec.Struct, forbid_unknown_fields=True):
    password: str
    hash: str


class SecretsState(msgspec.Struct, forbid_unknown_fields=True):
    version: int = 1
    users: dict[str, Credential] = {}


@dataclass
class ProvisionResult:
    out: Path
    users: list[str]
    rotated: list[str]
    created: list[str]
    brokers: list[str]
    files: list[Path] = field(default_factory=list)


def _write(path: Path, data: str | bytes, *, secret: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(raw)
    os.replace(tmp, path)
    return path


def _load_state(path: Path) -> SecretsState:
    if not path.exists():
        return SecretsState()
    try:
        return msgspec.json.decode(path.read_bytes(), type=SecretsState)
    except msgspec.DecodeError as exc:
        raise ProvisionError(f"{path}: not a provisioning state file: {exc}") from None


def _signer(path: Path, kid: str) -> DownlinkSigner:
    if path.exists():
        return load_signer(path, kid)
    signer = DownlinkSigner.generate(kid)
    _write(path, signer.private_pem(), secret=True)
    return signer


def provision(
    campus: CampusConfig,
    out: Path,
    *,
    rotate: Iterable[str] = (),
    layout: BrokerLayout | Mapping[str, BrokerLayout] | None = None,
    card_hash_key: bytes | None = None,
) -> ProvisionResult:
    """Write (or bring up to date) the provisioning output for ``campus`` in ``out``.

    ``layout`` is where the brokers find their files and which ports they use:
    one for every broker, or one per broker name (``central`` or a building id).
    ``card_hash_key`` (the server's ``DORM_CARD_HASH_KEY``) is copied to every
    gate as ``devices/<gate>/card-hash.key``.
    """
    if card_hash_key is not None and len(card_hash_key) < MIN_CARD_KEY_BYTES:
        raise ProvisionError(f"the card-hash key must be at least {MIN_CARD_KEY_BYTES} bytes")
    users = principals(campus)
    names = {p.username for p in users}
    to_rotate = sorted(set(rotate))
    unknown = [name for name in to_rotate if name not in names]
    if unknown:
        raise ProvisionError(f"cannot rotate unknown user(s): {', '.join(unknown)}")

    out.mkdir(parents=True, exist_ok=True)
    state_path = out / SECRETS_FILE
    state = _load_state(state_path)
    created: list[str] = []
    credentials: dict[str, Credential] = {}
    for p in users:
        current = state.users.get(p.username)
        if current is None or p.username in to_rotate:
            password = new_password()
            current = Credential(password=password, hash=mosquitto_hash(password))
            if p.username not in to_rotate:
                created.append(p.username)
        credentials[p.username] = current
    dropped = sorted(set(state.users) - names)
    if dropped:
        log.warning("dropping users no longer in the configuration: %s", ", ".join(dropped))
    files = [
        _write(
            state_path,
            msgspec.json.format(msgspec.json.encode(SecretsState(users=credentials))),
            secret=True,
        )
    ]

    server_signer = _signer(out / "server" / SIGNING_KEY_FILE, SERVER_KID)
    gateway_signers = {
        p.building: _signer(out / "gateways" / p.username / SIGNING_KEY_FILE, p.username)
        for p in users
        if p.role is Role.GATEWAY
    }

    for p in users:
        directory = _principal_dir(out, p)
        files.append(_write(directory / "mqtt-username", p.username + "\n"))
        files.append(
            _write(
                directory / "mqtt-password", credentials[p.username].password + "\n", secret=True
            )
        )
        if p.is_device or p.role is Role.GATEWAY:
            trust = [server_signer.trusted(KeyScope.ALL)]
            if p.building is not None and p.building in gateway_signers:
                trust.append(gateway_signers[p.building].trusted(KeyScope.FIRE_RELEASE))
            files.append(_write(directory / TRUST_FILE, trust_file_json(trust)))
        if p.role is Role.GATE and card_hash_key is not None:
            files.append(_write(directory / CARD_KEY_FILE, card_hash_key, secret=True))

    broker_names = []
    for broker, broker_users in brokers(campus).items():
        broker_names.append(broker)
        directory = out / "brokers" / broker
        passwd = "".join(f"{p.username}:{credentials[p.username].hash}\n" for p in broker_users)
        files.append(_write(directory / "passwd", passwd, secret=True))
        files.append(_write(directory / "acl", render_acl(broker_rules(broker, broker_users))))
        if layout is None or isinstance(layout, BrokerLayout):
            broker_layout = layout or BrokerLayout()
        else:
            broker_layout = layout.get(broker, BrokerLayout())
        conf = render_broker_config(broker, broker_layout)
        files.append(_write(directory / "mosquitto.conf", conf))
    log.info(
        "provisioned %d users on %d brokers in %s (%d new, %d rotated)",
        len(users),
        len(broker_names),
        out,
        len(created),
        len(to_rotate),
    )
    return ProvisionResult(
        out=out,
        users=sorted(names),
        rotated=to_rotate,
        created=created,
        brokers=broker_names,
        files=files,
    )


def trust_file_json(keys: list[TrustedKey]) -> bytes:
    return msgspec.json.format(msgspec.json.encode(TrustFile(keys=keys))) + b"\n"


def _principal_dir(out: Path, p: Principal) -> Path:
    if p.role is Role.SERVER:
        return out / "server"
    if p.role is Role.GATEWAY:
        return out / "gateways" / p.username
    return out / "devices" / p.username


__all__ = ["SERVER_USER", "ProvisionError", "ProvisionResult", "provision"]
