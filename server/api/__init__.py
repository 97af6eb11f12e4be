"""The REST API, ``/api/v1``: one router per resource."""

from fastapi import APIRouter

from server.api.routes import (
    alerts,
    audit,
    buildings,
    charts,
    dashboard,
    devices,
    duty,
    events,
    login,
    me,
    operations,
    people,
    privacy,
    reports,
)

API_PREFIX = "/api/v1"

api_router = APIRouter(prefix=API_PREFIX)
for module in (
    login,
    me,
    buildings,
    devices,
    people,
    events,
    charts,
    duty,
    reports,
    operations,
    audit,
    privacy,
    dashboard,
    alerts,
):
    api_router.include_router(module.router)

__all__ = ["API_PREFIX", "api_router"]
