"""Login throttling and lockout, security headers, no cookies, no secrets in logs."""

from __future__ import annotations

import logging

import pytest

from server.api.login_throttle import LoginThrottle
from server.api.middleware import SECURITY_HEADERS
from tests.security.apiserver import api
from tests.server.apiclient import PASSWORD, USERS, SeededApi

__all__ = ["api"]  # fixture

LOGIN = "/api/v1/login/access-token"


def _login(api: SeededApi, username: str, password: str) -> int:
    response = api.client.post(LOGIN, data={"username": username, "password": password})
    code: int = response.status_code
    return code


def test_brute_force_on_one_account_locks_it(api: SeededApi) -> None:
    assert _login(api, "security", PASSWORD) == 200
    codes = [_login(api, "security", f"guess-{i}") for i in range(5)]
    assert codes == [400] * 5
    # Locked now: even the right password is refused, with a time to wait.
    response = api.client.post(LOGIN, data={"username": "security", "password": PASSWORD})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 60
    # Other accounts are not affected by this one's lockout.
    assert _login(api, "counselor", PASSWORD) == 200


def test_a_stream_of_attempts_from_one_client_is_rate_limited(api: SeededApi) -> None:
    users = list(USERS)
    codes = [_login(api, users[i % len(users)], f"wrong-{i}") for i in range(12)]
    # 10 failed attempts a minute per client; spread over accounts so no lockout kicks in.
    assert codes[:10] == [400] * 10
    assert codes[10:] == [429, 429]


def test_successful_sign_ins_from_one_address_are_not_throttled(api: SeededApi) -> None:
    """A security office behind one NAT address signs in all day."""
    user = next(iter(USERS))
    codes = [_login(api, user, PASSWORD) for _ in range(15)]
    assert codes == [200] * 15


def test_the_throttle_forgets_after_its_windows() -> None:
    now = [0.0]
    throttle = LoginThrottle(
        attempts_per_window=3, max_failures=2, window_s=60, lockout_s=300, clock=lambda: now[0]
    )
    assert throttle.check("10.0.0.1", "alice") is None
    assert not throttle.failed("10.0.0.1", "alice")
    assert throttle.check("10.0.0.1", "alice") is None
    assert throttle.failed("10.0.0.1", "alice")  # second failure within the window: locked
    wait = throttle.check("10.0.0.2", "alice")
    assert wait == pytest.approx(300)
    now[0] = 299.0
    assert throttle.check("10.0.0.2", "alice") == pytest.approx(1)
    now[0] = 301.0
    assert throttle.check("10.0.0.2", "alice") is None
    # Per-client window of failures (three, over different accounts).
    for name in ("bob", "carol", "dave"):
        assert throttle.check("10.0.0.3", name) is None
        assert not throttle.failed("10.0.0.3", name)
    assert throttle.check("10.0.0.3", "erin") is not None
    assert throttle.check("10.0.0.4", "erin") is None  # another address is not affected
    now[0] = 400.0
    assert throttle.check("10.0.0.3", "dave") is None
    # Spaced-out failures never lock.
    for i in range(5):
        now[0] = 1000.0 + i * 61
        assert not throttle.failed(f"10.1.0.{i}", "erin")


@pytest.mark.parametrize(
    ("method", "path", "user"),
    [
        ("GET", "/api/v1/me", "student"),
        ("GET", "/api/v1/people", "admin"),
        ("GET", "/api/v1/people", "student"),  # 403
        ("GET", "/api/v1/me", None),  # 401
        ("GET", "/api/v1/no-such-route", None),  # 404
        ("POST", LOGIN, None),  # 422
        ("GET", "/openapi.json", None),
        ("GET", "/docs", None),
    ],
)
def test_every_response_carries_the_security_headers(
    api: SeededApi, method: str, path: str, user: str | None
) -> None:
    headers = {} if user is None else api.headers(user)
    response = api.client.request(method, path, headers=headers)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (path, name)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    if path.startswith("/api/"):
        assert response.headers["Cache-Control"] == "no-store"


def test_no_route_sets_a_cookie(api: SeededApi) -> None:
    """Bearer tokens in headers, never cookies: CSRF does not apply (docs/security.md)."""
    schema = api.client.get("/openapi.json").json()
    calls = 0
    for path, item in schema["paths"].items():
        concrete = path.replace("{person_id}", "p-s0002").replace("{building_id}", "b1")
        concrete = concrete.replace("{device_id}", "b1-gate-in").replace("{credential_id}", "1")
        concrete = concrete.replace("{command_id}", "01JBQ8Z0X4T6Y5V3W2N1M0K9H8")
        for method in item:
            for user in (None, "student", "admin"):
                headers = {} if user is None else api.headers(user)
                response = api.client.request(method.upper(), concrete, headers=headers, json={})
                assert "set-cookie" not in response.headers, (method, path, user)
                calls += 1
    response = api.client.post(LOGIN, data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert not api.client.cookies
    assert calls > 50


def test_passwords_tokens_and_keys_never_reach_the_logs(
    api: SeededApi, caplog: pytest.LogCaptureFixture
) -> None:
    settings = api.runtime.settings
    caplog.set_level(logging.DEBUG)
    wrong = "Tr0ub4dor&3-wrong-password"
    for _ in range(6):
        api.client.post(LOGIN, data={"username": "admin", "password": wrong})
    token = api.tokens["admin"]
    api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}x"})
    api.client.get("/api/v1/people", headers=api.headers("admin"))
    # Code that carelessly logs a secret is redacted too.
    careless = logging.getLogger("server.careless")
    careless.warning("login %s with password=%s", "admin", wrong)
    careless.warning("header Authorization: Bearer %s", token)
    careless.error("config %r", {"secret_key": settings.secret_key})
    careless.error("card key is %s", settings.card_hash_key)
    careless.info("token %s", token)
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "login locked" in text  # the lockout itself is logged
    for secret in (wrong, token, settings.secret_key, settings.card_hash_key, PASSWORD):
        assert secret not in text
    assert text.count("[REDACTED]") >= 5
