"""OAuth2 password flow: user name and password for a bearer token."""

from __future__ import annotations

import logging
import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from server.api.deps import RuntimeDep, SessionDep
from server.api.login_throttle import LoginThrottle
from server.api.schemas import TokenOut
from server.db import UserAccount
from server.security import create_access_token, hash_password, utcnow, verify_password

router = APIRouter(prefix="/login", tags=["login"])
log = logging.getLogger(__name__)

# Verified when the user name is unknown, so both failures take the same time.
_DUMMY_HASH = hash_password("not-a-real-password")


@router.post("/access-token")
def login_access_token(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenOut:
    throttle: LoginThrottle = request.app.state.login_throttle
    client = request.client.host if request.client is not None else "unknown"
    wait_s = throttle.check(client, form.username)
    if wait_s is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many login attempts; try again later",
            headers={"Retry-After": str(max(1, math.ceil(wait_s)))},
        )
    user = session.scalar(select(UserAccount).where(UserAccount.username == form.username))
    valid = verify_password(form.password, user.password_hash if user else _DUMMY_HASH)
    if user is None or not valid or not user.active:
        if throttle.failed(client, form.username):
            # The user name may be personal data (a student number): log the account id only.
            log.warning(
                "login locked for %.0f s after repeated failures (account %s)",
                throttle.lockout_s,
                user.id if user is not None else "unknown",
            )
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "incorrect user name or password")
    throttle.succeeded(form.username)
    settings = runtime.settings
    token = create_access_token(
        user.id, settings.secret_key, settings.access_token_expire_s, utcnow()
    )
    return TokenOut(access_token=token)
