"""What ``dorm provision`` writes: unique credentials, stable re-runs, rotation of one user."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import msgspec
import pytest

from cli.main import main
from devservices.mosquitto import MOSQUITTO_PASSWD_FALLBACK
from devservices.process import find_binary
from protocol.downlink import KeyScope, TrustFile
from provisioning.passwords import check_mosquitto_hash, mosquitto_hash
from provisioning.writer import ProvisionError, provision
from siteconfig import CampusConfig


def _contents(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_every_device_and_gateway_gets_a_unique_credential(
    campus: CampusConfig, tmp_path: Path
) -> None:
    result = provision(campus, tmp_path)
    expected = {*campus.devices, *(b.gateway_id for b in campus.site.buildings), "server"}
    assert set(result.users) == expected
    passwords = {
        user: next(tmp_path.rglob(f"{user}/mqtt-password"), tmp_path / "server" / "mqtt-password")
        .read_text()
        .strip()
        for user in expected
    }
    assert len(set(passwords.values())) == len(expected)
    assert all(len(pw) >= 32 for pw in passwords.values())
    # Each broker's password file holds exactly its users, hashed.
    b1 = (tmp_path / "brokers" / "b1" / "passwd").read_text().splitlines()
    users_b1 = {line.split(":", 1)[0] for line in b1}
    assert users_b1 == {d for d in campus.devices if d.startswith("b1-")} | {"b1-gw"}
    for line in b1:
        user, hashed = line.split(":", 1)
        assert hashed.startswith("$7$")
        assert passwords[user] not in line
        assert check_mosquitto_hash(passwords[user], hashed)
    central = (tmp_path / "brokers" / "central" / "passwd").read_text()
    assert {line.split(":")[0] for line in central.splitlines()} == {"b1-gw", "b2-gw", "server"}


def test_secret_files_are_private(campus: CampusConfig, tmp_path: Path) -> None:
    provision(campus, tmp_path)
    secret = [
        tmp_path / "secrets.json",
        tmp_path / "brokers" / "b1" / "passwd",
        tmp_path / "devices" / "b1-gate-in" / "mqtt-password",
        tmp_path / "server" / "downlink.key",
        tmp_path / "gateways" / "b1-gw" / "downlink.key",
    ]
    for path in secret:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_our_hash_is_the_one_mosquitto_passwd_writes(tmp_path: Path) -> None:
    tool = find_binary("mosquitto_passwd", [MOSQUITTO_PASSWD_FALLBACK])
    passwd = tmp_path / "passwd"
    passwd.touch(mode=0o600)
    subprocess.run([str(tool), "-b", str(passwd), "alice", "s3cret-pw"], check=True, timeout=30)
    theirs = passwd.read_text().strip().split(":", 1)[1]
    assert check_mosquitto_hash("s3cret-pw", theirs)
    assert not check_mosquitto_hash("other", theirs)
    _, _, iterations, salt, _ = theirs.split("$")
    import base64

    ours = mosquitto_hash("s3cret-pw", salt=base64.b64decode(salt), iterations=int(iterations))
    assert ours == theirs


def test_a_rerun_changes_nothing(campus: CampusConfig, tmp_path: Path) -> None:
    provision(campus, tmp_path)
    before = _contents(tmp_path)
    result = provision(campus, tmp_path)
    assert result.created == []
    assert _contents(tmp_path) == before


def test_rotating_one_device_changes_nothing_else(campus: CampusConfig, tmp_path: Path) -> None:
    provision(campus, tmp_path)
    before = _contents(tmp_path)
    result = provision(campus, tmp_path, rotate=["b1-gate-in"])
    after = _contents(tmp_path)
    assert result.rotated == ["b1-gate-in"]
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {
        "secrets.json",
        "devices/b1-gate-in/mqtt-password",
        "brokers/b1/passwd",
    }
    old_lines = before["brokers/b1/passwd"].decode().splitlines()
    new_lines = after["brokers/b1/passwd"].decode().splitlines()
    differing = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert len(differing) == 1
    assert differing[0][0].startswith("b1-gate-in:")
    assert differing[0][1].startswith("b1-gate-in:")
    assert before["devices/b1-gate-in/mqtt-password"] != after["devices/b1-gate-in/mqtt-password"]


def test_rotating_an_unknown_user_is_refused(campus: CampusConfig, tmp_path: Path) -> None:
    with pytest.raises(ProvisionError, match="no-such-device"):
        provision(campus, tmp_path, rotate=["no-such-device"])


def test_devices_trust_the_server_and_their_gateway_for_fire_release_only(
    campus: CampusConfig, tmp_path: Path
) -> None:
    provision(campus, tmp_path)
    trust = msgspec.json.decode(
        (tmp_path / "devices" / "b2-gate-in" / "downlink-keys.json").read_bytes(), type=TrustFile
    )
    assert {(k.kid, k.scope) for k in trust.keys} == {
        ("server", KeyScope.ALL),
        ("b2-gw", KeyScope.FIRE_RELEASE),
    }


def test_cli_provision_and_rotate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[2]
    config = str(root / "firmware-config")
    out = str(tmp_path / "out")
    assert main(["provision", "--out", out, "--config", config]) == 0
    assert main(["provision", "--out", out, "--config", config, "--rotate", "b2-kiosk"]) == 0
    assert "rotated: b2-kiosk" in capsys.readouterr().out
    assert main(["provision", "--out", out, "--config", config, "--rotate", "nope"]) == 1
    assert "nope" in capsys.readouterr().err
    conf = (tmp_path / "out" / "brokers" / "b1" / "mosquitto.conf").read_text()
    assert "allow_anonymous true" not in conf
    assert "listener 8883" in conf
    assert "require_certificate false" in conf
    assert main(["provision", "--out", out, "--config", config, "--client-certs"]) == 0
    conf = (tmp_path / "out" / "brokers" / "b1" / "mosquitto.conf").read_text()
    assert "require_certificate true" in conf


def test_gates_get_the_card_hash_key_when_given(campus: CampusConfig, tmp_path: Path) -> None:
    key = b"site-card-hash-key-0123456789abcdef"
    provision(campus, tmp_path, card_hash_key=key)
    gates = {d.id for d in campus.gates()}
    holders = {p.parent.name for p in tmp_path.glob("devices/*/card-hash.key")}
    assert holders == gates
    for gate in gates:
        path = tmp_path / "devices" / gate / "card-hash.key"
        assert path.read_bytes() == key
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(ProvisionError, match="16 bytes"):
        provision(campus, tmp_path, card_hash_key=b"short")
