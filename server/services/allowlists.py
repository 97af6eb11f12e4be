"""Refresh and publish building allowlists after a change (commit first, then publish)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import allowlist
from server.db import Building, BuildingAccess
from server.runtime import Runtime
from server.security import utcnow
from server.tokenkeys import public_token_keys

logger = logging.getLogger(__name__)


def buildings_of(session: Session, person_id: str) -> list[str]:
    return list(
        session.scalars(
            select(BuildingAccess.building_id).where(BuildingAccess.person_id == person_id)
        )
    )


def refresh_and_publish(
    runtime: Runtime, buildings: Iterable[str] | None = None, *, note: str | None = None
) -> list[allowlist.Published]:
    """New allowlist versions for ``buildings`` (all if None) that changed; publish them."""
    keys = public_token_keys(runtime.key_dir)
    now = utcnow()
    published: list[allowlist.Published] = []
    with runtime.sessions() as session, session.begin():
        targets = (
            list(session.scalars(select(Building.id).order_by(Building.id)))
            if buildings is None
            else sorted(set(buildings))
        )
        for building in targets:
            result = allowlist.refresh(session, building, keys, now, note=note)
            if result is not None:
                published.append(result)
    if runtime.link is not None:
        for result in published:
            allowlist.publish(runtime.link, result, runtime.downlink_signer)
    return published
