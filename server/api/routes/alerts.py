"""Alerts: list, detail with history, acknowledge / assign / resolve, and the SSE stream.

Counselors see and act on the alerts of their buildings (and on campus-level
ones), security staff and admins on every alert, students on none (403).
An alert outside the caller's scope answers 404, like one that does not exist.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, status
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from protocol.ids import ID_PATTERN, ULID_PATTERN
from server.alerts.errors import AlertNotFoundError, IllegalTransitionError
from server.alerts.queries import (
    AlertFilter,
    InvalidCursorError,
    active_alerts,
    alert_with_history,
    list_alerts,
)
from server.alerts.schemas import AlertOut
from server.alerts.system import AlertSystem
from server.api.alert_schemas import (
    AcknowledgeIn,
    AlertDetailOut,
    AlertHistoryOut,
    AlertPage,
    AssignIn,
    ResolveIn,
    RuleId,
    SeverityName,
    StatusFilter,
)
from server.api.deps import RuntimeDep, SessionDep, StaffUser, visible_buildings
from server.db import UserAccount
from server.security import Role

router = APIRouter(prefix="/alerts", tags=["alerts"])

AlertPath = Annotated[str, Path(pattern=ULID_PATTERN)]


def get_alerts(runtime: RuntimeDep) -> AlertSystem:
    if runtime.alerts is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "alerts are not running")
    return runtime.alerts


AlertsDep = Annotated[AlertSystem, Depends(get_alerts)]


def _by(user: UserAccount) -> str:
    """Who did it, in history and ``*_by`` fields: the user id (never a name)."""
    return str(user.id)


@router.get("")
def read_alerts(
    session: SessionDep,
    user: StaffUser,
    status_: Annotated[StatusFilter, Query(alias="status")] = "active",
    severity: SeverityName | None = None,
    building: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    rule: RuleId | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AlertPage:
    """Alerts in your scope, critical first, then oldest first; ``next_cursor`` pages on."""
    where = AlertFilter(status=status_, severity=severity, building=building, rule=rule)
    try:
        rows, next_cursor = list_alerts(
            session, visible_buildings(session, user), where, limit, cursor
        )
    except InvalidCursorError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return AlertPage(items=[AlertOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def stream_alerts(
    session: SessionDep, user: StaffUser, alerts: AlertsDep, runtime: RuntimeDep
) -> StreamingResponse:
    """Server-sent events: your active alerts, then one ``alert`` event per change."""
    scope = visible_buildings(session, user)
    keepalive_s = runtime.settings.alert_sse_keepalive_s
    max_s = runtime.settings.alert_sse_max_s
    sessions = runtime.sessions

    def snapshot() -> list[AlertOut]:
        with sessions() as own:
            return [AlertOut.model_validate(r) for r in active_alerts(own, scope)]

    async def events() -> AsyncIterator[str]:
        subscription = alerts.broadcaster.subscribe(scope)
        try:
            # Subscribed first, so nothing between the snapshot and the stream is lost;
            # a change already in the snapshot may come twice (the client upserts by id).
            for alert in await run_in_threadpool(snapshot):
                yield _sse(alert)
            ends = time.monotonic() + max_s
            while not subscription.dropped and (left_s := ends - time.monotonic()) > 0:
                changes = await subscription.next_events(min(keepalive_s, left_s))
                if not changes and not subscription.dropped and left_s > keepalive_s:
                    yield ": keepalive\n\n"
                for change in changes:
                    yield _sse(change.alert)
        finally:
            alerts.broadcaster.unsubscribe(subscription)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _sse(alert: AlertOut) -> str:
    return f"event: alert\ndata: {alert.model_dump_json()}\n\n"


def _change(call: Callable[[], AlertOut]) -> AlertOut:
    """Run a lifecycle change: 404 outside scope, 409 when the status does not allow it."""
    try:
        return call()
    except AlertNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert") from None
    except IllegalTransitionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.get("/{alert_id}")
def read_alert(session: SessionDep, user: StaffUser, alert_id: AlertPath) -> AlertDetailOut:
    """One alert with its history (who did what, when, at which level)."""
    try:
        row, history = alert_with_history(session, alert_id, visible_buildings(session, user))
    except AlertNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert") from None
    return AlertDetailOut(
        **AlertOut.model_validate(row).model_dump(),
        history=[AlertHistoryOut.model_validate(h) for h in history],
    )


@router.post("/{alert_id}/acknowledge")
def acknowledge_alert(
    session: SessionDep,
    user: StaffUser,
    alerts: AlertsDep,
    alert_id: AlertPath,
    body: Annotated[AcknowledgeIn | None, Body()] = None,
) -> AlertOut:
    """Acknowledge (stops escalation); the body, with its optional note, may be left out."""
    note = None if body is None else body.note
    scope = visible_buildings(session, user)
    return _change(lambda: alerts.service.acknowledge(alert_id, _by(user), note, scope))


@router.post("/{alert_id}/assign")
def assign_alert(
    session: SessionDep, user: StaffUser, alerts: AlertsDep, alert_id: AlertPath, body: AssignIn
) -> AlertOut:
    """Assign to a staff login (counselor, security or admin) by its user id."""
    assignee = session.scalars(
        select(UserAccount).where(UserAccount.id == int(body.assignee))
    ).one_or_none()
    if assignee is None or not assignee.active or assignee.role == Role.STUDENT:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "assignee must be an active staff user id"
        )
    scope = visible_buildings(session, user)
    return _change(lambda: alerts.service.assign(alert_id, _by(user), body.assignee, scope))


@router.post("/{alert_id}/resolve")
def resolve_alert(
    session: SessionDep, user: StaffUser, alerts: AlertsDep, alert_id: AlertPath, body: ResolveIn
) -> AlertOut:
    scope = visible_buildings(session, user)
    return _change(lambda: alerts.service.resolve(alert_id, _by(user), body.note, scope))
