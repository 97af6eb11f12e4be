"""Dependencies of the API routes, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import StaffBuilding, UserAccount
from server.runtime import Runtime
from server.security import InvalidTokenError, Role, read_access_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/login/access-token")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with runtime.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
TokenDep = Annotated[str, Depends(oauth2_scheme)]


def get_current_user(session: SessionDep, runtime: RuntimeDep, token: TokenDep) -> UserAccount:
    unauthorized = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="invalid or expired token",
        headers={"WWW-Authenticate": "Bearer"},
    )
    try:
        user_id = read_access_token(token, runtime.settings.secret_key)
    except InvalidTokenError:
        raise unauthorized from None
    user = session.get(UserAccount, user_id)
    if user is None or not user.active:
        raise unauthorized
    return user


CurrentUser = Annotated[UserAccount, Depends(get_current_user)]


def require(*roles: Role) -> Callable[[UserAccount], UserAccount]:
    """A dependency that lets only ``roles`` through (403 for the others)."""
    allowed = frozenset(roles)

    def check(user: CurrentUser) -> UserAccount:
        if Role(user.role) not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "not allowed for your role")
        return user

    return check


AdminUser = Annotated[UserAccount, Depends(require(Role.ADMIN))]
SecurityUser = Annotated[UserAccount, Depends(require(Role.SECURITY, Role.ADMIN))]
StaffUser = Annotated[UserAccount, Depends(require(Role.COUNSELOR, Role.SECURITY, Role.ADMIN))]
CounselorUser = Annotated[UserAccount, Depends(require(Role.COUNSELOR, Role.ADMIN))]


def visible_buildings(session: Session, user: UserAccount) -> frozenset[str] | None:
    """The buildings ``user`` may see; None means all of them."""
    if user.role in (Role.ADMIN, Role.SECURITY):
        return None
    if user.role == Role.COUNSELOR and user.person_id is not None:
        return frozenset(
            session.scalars(
                select(StaffBuilding.building_id).where(StaffBuilding.person_id == user.person_id)
            )
        )
    return frozenset()


def check_building(session: Session, user: UserAccount, building: str) -> None:
    """403 for a building outside the user's scope."""
    scope = visible_buildings(session, user)
    if scope is not None and building not in scope:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "building outside your scope")
