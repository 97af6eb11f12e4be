"""Operations: ingest counters, allowlist versions, token key rotation."""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import APIRouter, HTTPException, Path, status
from sqlalchemy.orm import Session

from protocol.ids import ID_PATTERN
from protocol.messages import AllowlistSnapshot
from server import allowlist
from server.api.deps import AdminUser, RuntimeDep, SecurityUser, SessionDep
from server.api.schemas import AllowlistVersionOut
from server.db import Building
from server.ingest import IngestStatsView
from server.services.allowlists import refresh_and_publish
from server.tokenkeys import public_token_keys, rotate_signing_key

router = APIRouter(tags=["operations"])

BuildingPath = Annotated[str, Path(pattern=ID_PATTERN)]


@router.get("/ingest/stats")
def ingest_stats(user: SecurityUser, runtime: RuntimeDep) -> IngestStatsView:
    """Received, stored, duplicate, rejected (by reason) and dropped message counts."""
    return runtime.ingest_view()


def _version_out(session: Session, building_id: str) -> AllowlistVersionOut:
    row = allowlist.latest_version(session, building_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no allowlist published yet")
    snapshot = msgspec.json.decode(row.snapshot, type=AllowlistSnapshot)
    return AllowlistVersionOut(
        building_id=building_id,
        version=row.version,
        issued_at=row.issued_at,
        entries=len(snapshot.entries),
    )


@router.get("/allowlists/{building_id}")
def read_allowlist(
    session: SessionDep, user: SecurityUser, building_id: BuildingPath
) -> AllowlistVersionOut:
    return _version_out(session, building_id)


@router.post("/allowlists/{building_id}/publish")
def publish_allowlist(
    session: SessionDep, user: AdminUser, runtime: RuntimeDep, building_id: BuildingPath
) -> AllowlistVersionOut:
    """Record and publish a new version if anything changed; answer the current version."""
    if session.get(Building, building_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such building")
    refresh_and_publish(runtime, [building_id], note="published on request")
    return _version_out(session, building_id)


@router.post("/token-keys/rotate")
def rotate_token_key(user: AdminUser, runtime: RuntimeDep) -> list[str]:
    """Make a new signing key current; gates get the new public key with the next delta."""
    rotate_signing_key(runtime.key_dir)
    refresh_and_publish(runtime, note="token key rotated")
    return [key.kid for key in public_token_keys(runtime.key_dir)]
