"""Security headers on every response of the API and the dashboard.

The dashboard authenticates with a bearer token in the ``Authorization``
header, never with cookies, so cross-site request forgery does not apply
(a forged cross-site request carries no token); no route sets a cookie,
and tests/security checks that.
"""

from __future__ import annotations

from typing import Final

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response

#: The API docs (/docs) load Swagger UI from jsDelivr; everything else is same-origin.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; "
    "script-src 'self' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; "
    "object-src 'none'; "
    "base-uri 'none'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)

SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # Browsers ignore HSTS over plain HTTP; behind the TLS proxy it takes effect.
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}
#: Personal data must not sit in shared or browser caches.
NO_STORE: Final = "no-store"


class SecurityHeadersMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", NO_STORE)
        return response
