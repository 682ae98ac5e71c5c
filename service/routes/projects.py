"""Projects: creation with the server's admin token (``BAYESCALE_ADMIN_TOKEN``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header

from service import store
from service.admin_token import check_admin_token
from service.deps import SessionDep, SettingsDep
from service.errors import problems
from service.schemas import ProjectCreatedResponse, ProjectCreateRequest

router = APIRouter(prefix="/v1/projects", tags=["projects"])


def admin_token(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """Dependency: the bearer token is the server's admin token (checked before the body)."""
    token = authorization.removeprefix("Bearer ").strip() if authorization else None
    check_admin_token(settings, token)


@router.post(
    "",
    status_code=201,
    response_model=ProjectCreatedResponse,
    responses=problems(400, 401, 403, 409, 422),
    dependencies=[Depends(admin_token)],
)
def create_project(body: ProjectCreateRequest, session: SessionDep) -> ProjectCreatedResponse:
    """Create a project; the response carries its first admin key, shown this once.

    Needs ``Authorization: Bearer <admin token>``; without ``BAYESCALE_ADMIN_TOKEN`` set on the
    server every call is a 403 (use ``bayescale admin create-project``).
    """
    project, key = store.create_project(session, body.name)
    return ProjectCreatedResponse(
        id=project.id, name=project.name, created_at=project.created_at, key=key
    )
