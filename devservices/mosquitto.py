"""A throwaway Mosquitto broker, and the broker settings every deployment shares.

:func:`render_mosquitto_config` writes the configuration for the test broker
here and is the model for ``deploy/mosquitto/mosquitto.conf`` used by
docker-compose: both carry :data:`BROKER_LIMITS` (``tests/test_compose.py``
checks that the static file keeps them).
"""

from __future__ import annotations

import logging
import os
import pwd
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from devservices.base import DevService
from devservices.errors import DevServiceError
from devservices.ports import LOCALHOST, find_free_ports, port_accepts
from devservices.process import ChildProcess, find_binary, run_command, wait_until_ready

logger = logging.getLogger(__name__)

MOSQUITTO_FALLBACK: Final = Path("/usr/sbin/mosquitto")
MOSQUITTO_PASSWD_FALLBACK: Final = Path("/usr/bin/mosquitto_passwd")


@dataclass(frozen=True)
class BrokerLimits:
    """Per-client queue and in-flight limits of a Mosquitto broker.

    Mosquitto 2.0's defaults (max_queued_messages 1000, max_inflight_messages
    20) silently discard QoS 1 messages queued for a subscriber that falls
    more than 1,000 messages behind; measured here, a burst to a slow
    subscriber lost 21-69 % of it. So every broker we configure lifts the
    queue limit and leaves room for bursts in flight.
    """

    #: messages queued per client beyond those in flight (0 would mean unlimited;
    #: a large finite number still bounds a runaway client).
    max_queued_messages: int = 1_000_000
    #: bytes queued per client; 0 = no byte limit (the message count bounds the queue).
    max_queued_bytes: int = 0
    #: QoS 1/2 messages in flight to one client awaiting PUBACK; an MQTT v5
    #: client's Receive Maximum lowers it for that client.
    max_inflight_messages: int = 1000


#: The limits every broker of the project runs with.
BROKER_LIMITS: Final = BrokerLimits()
#: Mosquitto 2.0's own defaults, kept so a test can show what they lose.
MOSQUITTO_DEFAULT_LIMITS: Final = BrokerLimits(
    max_queued_messages=1000, max_queued_bytes=0, max_inflight_messages=20
)


@dataclass(frozen=True)
class Listener:
    """One ``listener`` block of a Mosquitto config."""

    port: int
    #: address to bind; None binds every interface (inside a container).
    bind_address: str | None = LOCALHOST
    allow_anonymous: bool = True
    password_file: str | None = None
    acl_file: str | None = None


AclAccess = Literal["read", "write", "readwrite", "deny"]


@dataclass(frozen=True)
class MqttCredentials:
    """A user name and password for a broker's authenticated listener."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class AclRule:
    """One line of a Mosquitto ACL file.

    ``username=None`` and ``pattern=False``: a rule for clients without a user
    name. ``pattern=True``: a rule for every user, where ``%u`` / ``%c`` stand for
    the client's user name / client id. Otherwise: a rule for that user.
    """

    topic: str
    access: AclAccess = "readwrite"
    username: str | None = None
    pattern: bool = False


_CONFIG_HEADER: Final = """\
# Mosquitto 2.0 configuration written by devservices.mosquitto.render_mosquitto_config.
"""

_LIMITS_COMMENT: Final = """\
# Queue and in-flight limits (devservices.mosquitto.BROKER_LIMITS).
# Mosquitto 2.0's defaults (max_queued_messages 1000, max_inflight_messages 20)
# silently drop QoS 1 messages for a subscriber more than 1,000 messages behind;
# a burst to a slow subscriber lost 21-69 % of it when measured. So:
# - max_queued_messages: per-client queue beyond the in-flight window, large but finite;
# - max_queued_bytes 0: no byte limit, the message count bounds the queue;
# - max_inflight_messages: QoS 1 messages sent to one client before its PUBACKs,
#   room for bursts (an MQTT v5 client's Receive Maximum lowers it for that client).
"""


def _check_config_value(what: str, value: str) -> str:
    if not value or any(ch in value for ch in "\r\n\0"):
        raise ValueError(f"{what} must be non-empty and on one line: {value!r}")
    return value


def render_mosquitto_config(
    listeners: Sequence[Listener],
    *,
    limits: BrokerLimits = BROKER_LIMITS,
    persistence_location: str | None = None,
    run_as_user: str | None = None,
    log_dest: str = "stderr",
    extra: str = "",
) -> str:
    """The text of a ``mosquitto.conf`` with per-listener security settings.

    ``persistence_location`` (a directory, ending in ``/``) turns persistence on;
    without it the broker keeps sessions and retained messages in memory only.
    ``run_as_user`` sets ``user`` (the account a broker started as root
    switches to). ``extra`` is appended verbatim (tests use it to break a config).
    """
    if not listeners:
        raise ValueError("a broker needs at least one listener")
    lines = [_CONFIG_HEADER]
    lines.append("# Each listener has its own authentication and ACL settings.")
    lines.append("per_listener_settings true")
    if run_as_user is not None:
        lines.append(f"user {_check_config_value('run_as_user', run_as_user)}")
    lines.append(f"log_dest {_check_config_value('log_dest', log_dest)}")
    lines.append("log_type error")
    lines.append("log_type warning")
    lines.append("log_type notice")
    lines.append("log_type information")
    lines.append("connection_messages true")
    lines.append("log_timestamp_format %Y-%m-%dT%H:%M:%S")
    if persistence_location is None:
        lines.append("persistence false")
    else:
        location = _check_config_value("persistence_location", persistence_location)
        if not location.endswith("/"):
            raise ValueError(f"persistence_location must end with '/': {location!r}")
        lines.append("persistence true")
        lines.append(f"persistence_location {location}")
        lines.append("autosave_interval 60")
    lines.append("# Small QoS 1 messages go out at once instead of waiting for Nagle's algorithm.")
    lines.append("set_tcp_nodelay true")
    lines.append("")
    lines.append(_LIMITS_COMMENT.rstrip("\n"))
    lines.append(f"max_queued_messages {limits.max_queued_messages}")
    lines.append(f"max_queued_bytes {limits.max_queued_bytes}")
    lines.append(f"max_inflight_messages {limits.max_inflight_messages}")
    for listener in listeners:
        lines.append("")
        address = "" if listener.bind_address is None else f" {listener.bind_address}"
        lines.append(f"listener {listener.port}{address}")
        lines.append(f"allow_anonymous {'true' if listener.allow_anonymous else 'false'}")
        if listener.password_file is not None:
            path = _check_config_value("password_file", listener.password_file)
            lines.append(f"password_file {path}")
        if listener.acl_file is not None:
            lines.append(f"acl_file {_check_config_value('acl_file', listener.acl_file)}")
    if extra:
        lines.append("")
        lines.append(extra.rstrip("\n"))
    return "\n".join(lines) + "\n"


_TOPIC_RE: Final = re.compile(r"^[^\s\0]+$")


def render_acl(rules: Sequence[AclRule]) -> str:
    """The text of a Mosquitto ACL file: anonymous rules, then patterns, then per user."""
    anonymous = [r for r in rules if r.username is None and not r.pattern]
    patterns = [r for r in rules if r.pattern]
    per_user: dict[str, list[AclRule]] = {}
    for rule in rules:
        if rule.pattern and rule.username is not None:
            raise ValueError(f"a pattern applies to every user; drop username: {rule}")
        if not _TOPIC_RE.match(rule.topic):
            raise ValueError(f"ACL topic must be non-empty without whitespace: {rule.topic!r}")
        if rule.username is not None and not rule.pattern:
            per_user.setdefault(_check_username(rule.username), []).append(rule)
    lines = [f"topic {r.access} {r.topic}" for r in anonymous]
    lines += [f"pattern {r.access} {r.topic}" for r in patterns]
    for username, user_rules in per_user.items():
        if lines:
            lines.append("")
        lines.append(f"user {username}")
        lines += [f"topic {r.access} {r.topic}" for r in user_rules]
    return "\n".join(lines) + "\n"


def _check_username(username: str) -> str:
    if not username or ":" in username or any(ch.isspace() or ch == "\0" for ch in username):
        raise ValueError(f"MQTT user name must be non-empty, without ':' or spaces: {username!r}")
    return username


def _current_user_name() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


class MosquittoBroker(DevService):
    """A private Mosquitto on 127.0.0.1 with two listeners sharing one topic space.

    - :attr:`port`: anonymous clients allowed, no ACL (tests and tools);
    - :attr:`auth_port`: ``password_file`` + ``acl_file``, anonymous refused.

    ``users`` maps user name to password for the authenticated listener; ``acl``
    is an ACL file's text or a list of :class:`AclRule`. With no ACL, users on
    the authenticated listener may not read or write anything.
    """

    service_name = "mosquitto"

    def __init__(
        self,
        users: Mapping[str, str] | None = None,
        acl: str | Sequence[AclRule] = "",
        *,
        limits: BrokerLimits = BROKER_LIMITS,
        persistence: bool = False,
        port: int | None = None,
        auth_port: int | None = None,
        extra_config: str = "",
        binary: Path | None = None,
        base_dir: Path | None = None,
        start_timeout_s: float = 15.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        if (port is None) != (auth_port is None):
            raise ValueError("give both port and auth_port, or neither")
        super().__init__(
            start_timeout_s=start_timeout_s,
            stop_timeout_s=stop_timeout_s,
            base_dir=base_dir,
            ports_given=port is not None,
        )
        self._users = dict(users or {})
        for username, password in self._users.items():
            _check_username(username)
            _check_config_value(f"password of {username}", password)
        self._acl_text = acl if isinstance(acl, str) else render_acl(acl)
        self.limits = limits
        self.persistence = persistence
        self._port = port
        self._auth_port = auth_port
        self._extra_config = extra_config
        self._binary = binary
        self._process: ChildProcess | None = None

    @property
    def auth_port(self) -> int:
        """The listener that requires a user name and password and applies the ACL."""
        if self._auth_port is None:
            raise DevServiceError("mosquitto has no auth_port yet: start it first")
        return self._auth_port

    @property
    def users(self) -> dict[str, str]:
        """A copy of the user name → password map of the authenticated listener."""
        return dict(self._users)

    @property
    def config_path(self) -> Path:
        return self.workdir / "mosquitto.conf"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def _choose_ports(self) -> None:
        self._port, self._auth_port = find_free_ports(2)

    def _prepare(self) -> None:
        workdir = self.workdir
        passwd_path = workdir / "passwd"
        passwd_path.touch(mode=0o600)
        if self._users:
            tool = find_binary(
                "mosquitto_passwd",
                [MOSQUITTO_PASSWD_FALLBACK],
                package_hint="the Debian package 'mosquitto'",
            )
            # -b puts the password on the command line: acceptable for a
            # throwaway test broker, never for real credentials.
            for username, password in self._users.items():
                run_command([str(tool), "-b", str(passwd_path), username, password], timeout_s=30)
        (workdir / "acl").write_text(self._acl_text)
        if self.persistence:
            (workdir / "data").mkdir()

    def _launch(self) -> None:
        binary = self._binary or find_binary(
            "mosquitto", [MOSQUITTO_FALLBACK], package_hint="the Debian package 'mosquitto'"
        )
        workdir = self.workdir
        listeners = [
            Listener(port=self.port, allow_anonymous=True),
            Listener(
                port=self.auth_port,
                allow_anonymous=False,
                password_file=str(workdir / "passwd"),
                acl_file=str(workdir / "acl"),
            ),
        ]
        config = render_mosquitto_config(
            listeners,
            limits=self.limits,
            persistence_location=f"{workdir / 'data'}/" if self.persistence else None,
            # Started as root, Mosquitto would switch to the 'mosquitto' account,
            # which cannot read this private temp dir; stay whoever started us.
            run_as_user=_current_user_name(),
            extra=self._extra_config,
        )
        self.config_path.write_text(config)
        self._process = ChildProcess(
            "mosquitto", [str(binary), "-c", str(self.config_path)], self.log_path
        )
        self._process.spawn()

    def _wait_ready(self) -> None:
        process = self._process
        assert process is not None
        wait_until_ready(
            "mosquitto",
            lambda: port_accepts(LOCALHOST, self.port) and port_accepts(LOCALHOST, self.auth_port),
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
