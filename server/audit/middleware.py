"""Every read of personal data through the API is recorded, allowed or refused.

The middleware sees each request after its route ran (so also the ones a
role check refused with 403) and, for the routes listed in
:data:`AUDITED_READS`, writes one :class:`~server.db.audit.AuditEntry` before
the response leaves: if the record cannot be written the data is not sent
(500), so no read goes unrecorded.

Recorded: every read by staff (counselor, security, admin) and every refused
attempt by anyone. A student reading their own records (``/me``) is not
recorded: it is their data.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Final

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.audit.recorder import AuditRecord, record, scope_of
from server.db import UserAccount
from server.runtime import Runtime
from server.security import InvalidTokenError, Role, read_access_token

log = logging.getLogger(__name__)

PURPOSE_HEADER: Final = "X-Access-Purpose"
_API: Final = "/api/v1"
_PERSON: Final = r"(?P<person>[a-z0-9][a-z0-9-]{0,31})"


@dataclass(frozen=True, slots=True)
class AuditedRoute:
    pattern: re.Pattern[str]
    #: what kind of personal data the route serves
    what: str


#: GET routes that serve personal data: names and numbers, access history,
#: presence (reports of who is in or out), staff duty records, the audit trail.
AUDITED_READS: Final = (
    AuditedRoute(re.compile(rf"^{_API}/people$"), "names"),
    AuditedRoute(re.compile(rf"^{_API}/people/{_PERSON}(/credentials)?$"), "names"),
    AuditedRoute(re.compile(rf"^{_API}/access-events$"), "access history"),
    AuditedRoute(re.compile(rf"^{_API}/me/access-events$"), "access history"),
    AuditedRoute(re.compile(rf"^{_API}/reports/[a-z-]+$"), "presence"),
    AuditedRoute(re.compile(rf"^{_API}/duty/(shifts|checks)$"), "duty records"),
    AuditedRoute(re.compile(rf"^{_API}/audit$"), "audit trail"),
    AuditedRoute(re.compile(rf"^{_API}/privacy/people/{_PERSON}/export$"), "export"),
    AuditedRoute(re.compile(rf"^{_API}/privacy/me/export$"), "export"),
)

_STAFF: Final = frozenset({Role.COUNSELOR, Role.SECURITY, Role.ADMIN})


def audited_route(method: str, path: str) -> tuple[AuditedRoute, re.Match[str]] | None:
    if method != "GET":
        return None
    for route in AUDITED_READS:
        match = route.pattern.match(path)
        if match is not None:
            return route, match
    return None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class AuditMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        found = audited_route(request.method, request.url.path)
        token = _bearer(request)
        if found is None or token is None:
            return response
        runtime: Runtime = request.app.state.runtime
        route, match = found
        subject = match.groupdict().get("person") or request.query_params.get("person")
        try:
            await run_in_threadpool(
                _record_request,
                runtime,
                token,
                route,
                request,
                response.status_code,
                subject,
            )
        except SQLAlchemyError as exc:
            log.error("audit record for %s not written: %s", request.url.path, exc)
            return JSONResponse({"detail": "audit trail unavailable"}, status_code=500)
        return response


def _record_request(
    runtime: Runtime,
    token: str,
    route: AuditedRoute,
    request: Request,
    status: int,
    subject: str | None,
) -> None:
    try:
        user_id = read_access_token(token, runtime.settings.secret_key)
    except InvalidTokenError:
        return  # 401: nobody identified, nothing read
    refused = status == 403
    with runtime.sessions() as session, session.begin():
        user = session.get(UserAccount, user_id)
        if user is None:
            return
        if user.role not in _STAFF and not refused:
            return  # a student's own records
        record(
            session,
            AuditRecord(
                action="refused" if refused else "read",
                resource=f"GET {request.url.path} ({route.what})",
                scope=scope_of(session, user),
                status=status,
                actor_user_id=user.id,
                actor_role=user.role,
                subject_person_id=subject,
                purpose=request.headers.get(PURPOSE_HEADER),
                query=str(request.url.query) or None,
            ),
        )
