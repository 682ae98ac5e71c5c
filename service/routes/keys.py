"""API keys of a project (admin role)."""

from __future__ import annotations

from fastapi import APIRouter

from service import store
from service.deps import PROJECT_ERRORS, AdminProject, SessionDep
from service.schemas import KeyCreateRequest, KeyResponse

router = APIRouter(prefix="/v1/projects/{project}/keys", tags=["keys"], responses=PROJECT_ERRORS)


@router.get("", response_model=list[KeyResponse])
def list_keys(project: AdminProject, session: SessionDep) -> list[KeyResponse]:
    """Keys of the project (prefix and role only; secrets are never shown again)."""
    return [
        KeyResponse.model_validate(k, from_attributes=True)
        for k in store.list_keys(session, project)
    ]


@router.post("", status_code=201, response_model=KeyResponse)
def create_key(body: KeyCreateRequest, project: AdminProject, session: SessionDep) -> KeyResponse:
    """Create a key; the response carries the secret, shown this once."""
    secret, key = store.create_key(session, project, body.role, body.name)
    return KeyResponse.model_validate(key, from_attributes=True).model_copy(update={"key": secret})


@router.delete("/{prefix}", response_model=KeyResponse)
def revoke_key(prefix: str, project: AdminProject, session: SessionDep) -> KeyResponse:
    """Revoke a key; requests with it fail from now on."""
    return KeyResponse.model_validate(
        store.revoke_key(session, project, prefix), from_attributes=True
    )
