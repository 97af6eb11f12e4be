"""OAuth2 password flow: user name and password for a bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from server.api.deps import RuntimeDep, SessionDep
from server.api.schemas import TokenOut
from server.db import UserAccount
from server.security import create_access_token, hash_password, utcnow, verify_password

router = APIRouter(prefix="/login", tags=["login"])

# Verified when the user name is unknown, so both failures take the same time.
_DUMMY_HASH = hash_password("not-a-real-password")


@router.post("/access-token")
def login_access_token(
    session: SessionDep,
    runtime: RuntimeDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenOut:
    user = session.scalar(select(UserAccount).where(UserAccount.username == form.username))
    valid = verify_password(form.password, user.password_hash if user else _DUMMY_HASH)
    if user is None or not valid or not user.active:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "incorrect user name or password")
    settings = runtime.settings
    token = create_access_token(
        user.id, settings.secret_key, settings.access_token_expire_s, utcnow()
    )
    return TokenOut(access_token=token)
