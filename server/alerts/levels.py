"""The four levels and who sees and who is notified at each (the escalation matrix).

*Seeing* is the REST/SSE contract's scope: admins and security staff see
every building, a counselor the buildings they are assigned to. On top of
that an alert escalated to **campus** level is visible to every staff member
(a campus-wide incident concerns every counselor on duty).

*Being notified* (the webhook's ``notify`` field, for messaging bots) follows
the level: the people closest to the incident first, more people at each step.

=========  ==========================================================
level      notified
=========  ==========================================================
room       counselors of the building
floor      counselors of the building, admins
building   counselors of the building, security, admins
campus     every counselor, security, admins
=========  ==========================================================

An alert that names no building (below campus level) notifies security and
admins, since there are no building counselors to pick.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Final

from rules.signals import Level

ORDER: Final = (Level.ROOM, Level.FLOOR, Level.BUILDING, Level.CAMPUS)


def next_level(level: Level) -> Level | None:
    """The level above ``level``; None at the top (campus)."""
    index = ORDER.index(level)
    return ORDER[index + 1] if index + 1 < len(ORDER) else None


@dataclass(frozen=True, slots=True)
class Audience:
    """Who is notified: roles, restricted to ``buildings`` (None = every building)."""

    roles: tuple[str, ...]
    buildings: tuple[str, ...] | None

    def as_dict(self) -> dict[str, object]:
        return {
            "roles": list(self.roles),
            "buildings": None if self.buildings is None else list(self.buildings),
        }


def notified(level: Level, building: str | None) -> Audience:
    """The notification matrix of the module docstring, for an alert in ``building``."""
    if level != Level.CAMPUS and building is None:
        # No building to pick counselors by: the campus-wide roles are told.
        return Audience(("security", "admin"), None)
    own = None if building is None else (building,)
    if level == Level.ROOM:
        return Audience(("counselor",), own)
    if level == Level.FLOOR:
        return Audience(("counselor", "admin"), own)
    if level == Level.BUILDING:
        return Audience(("counselor", "security", "admin"), own)
    return Audience(("counselor", "security", "admin"), None)


def can_see(scope: Set[str] | None, building: str | None, level: str) -> bool:
    """Whether a viewer with ``scope`` (None = everything) sees an alert."""
    if scope is None or level == Level.CAMPUS:
        return True
    return building is not None and building in scope
