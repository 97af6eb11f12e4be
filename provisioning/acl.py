"""The Mosquitto ACL of each broker.

Building broker (devices and their gateway):

- a device may publish only its own uplink topics (``event/#``, ``telemetry``,
  ``heartbeat``, ``state`` — also its last will — and ``cmd/ack``) under
  ``dorm/v1/{building}/dev/{device}/``; it may read only its own ``cmd`` and,
  for gates and kiosks, the building's ``allowlist/+``. Gates may also read
  the building's ``dev/+/event/access`` (pseudonymous decisions) for soft
  anti-passback between the entry and the exit gate;
- the gateway may read and write its own building's tree, nothing else.

Central broker: a gateway may publish its building's device topics
(``dorm/v1/{building}/dev/+/#``) and read its building's commands and
allowlists; the server reads and writes ``dorm/v1/#``.

Anything not granted is denied (Mosquitto denies by default once an ACL file
is set).
"""

from __future__ import annotations

from devservices.mosquitto import AclRule
from protocol.topics import PREFIX, Family
from provisioning.principals import CENTRAL, Principal, Role

DEVICE_UPLINK: tuple[Family, ...] = (
    Family.TELEMETRY,
    Family.HEARTBEAT,
    Family.STATE,
    Family.COMMAND_ACK,
)


def device_rules(p: Principal) -> list[AclRule]:
    own = f"{PREFIX}/{p.building}/dev/{p.username}"
    rules = [AclRule(f"{own}/event/#", "write", p.username)]
    rules += [AclRule(f"{own}/{family.value}", "write", p.username) for family in DEVICE_UPLINK]
    rules.append(AclRule(f"{own}/{Family.COMMAND.value}", "read", p.username))
    if p.reads_allowlist:
        rules.append(AclRule(f"{PREFIX}/{p.building}/allowlist/+", "read", p.username))
    if p.role is Role.GATE:
        rules.append(
            AclRule(f"{PREFIX}/{p.building}/dev/+/{Family.ACCESS.value}", "read", p.username)
        )
    return rules


def broker_rules(broker: str, users: list[Principal]) -> list[AclRule]:
    """The ACL rules of one broker (``central`` or a building id) for its users."""
    rules: list[AclRule] = []
    for p in users:
        if p.role is Role.SERVER:
            rules.append(AclRule(f"{PREFIX}/#", "readwrite", p.username))
        elif p.role is Role.GATEWAY and broker == CENTRAL:
            rules += [
                AclRule(f"{PREFIX}/{p.building}/dev/+/#", "write", p.username),
                AclRule(f"{PREFIX}/{p.building}/dev/+/{Family.COMMAND.value}", "read", p.username),
                AclRule(f"{PREFIX}/{p.building}/allowlist/+", "read", p.username),
            ]
        elif p.role is Role.GATEWAY:
            rules.append(AclRule(f"{PREFIX}/{p.building}/#", "readwrite", p.username))
        else:
            rules += device_rules(p)
    return rules
