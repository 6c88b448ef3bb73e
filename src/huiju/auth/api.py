"""JSON API of the auth context: a few lines per route, all decisions in service.py."""

from __future__ import annotations

from fastapi import APIRouter

from huiju.auth import service
from huiju.auth.schemas import (
    DepartmentIn,
    DepartmentOut,
    IssuedTokenOut,
    MembershipOut,
    MeOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)
from huiju.errors import Unauthenticated
from huiju.web.deps import ActorDep, UowDep

router = APIRouter(tags=["auth"])


@router.get("/me", response_model=MeOut)
def me(actor: ActorDep) -> MeOut:
    if not actor.is_authenticated:
        raise Unauthenticated("Please log in first")
    return MeOut(user_id=actor.user_id, username=actor.username, display_name=actor.display_name,
                 roles=[MembershipOut(role=r.value, department_id=d) for r, d in sorted(actor.roles)],
                 scopes=sorted(actor.scopes) if actor.scopes is not None else None)


@router.get("/departments", response_model=list[DepartmentOut])
def list_departments(uow: UowDep, actor: ActorDep):
    return service.list_departments(uow, actor)


@router.post("/departments", response_model=DepartmentOut, status_code=201)
def create_department(body: DepartmentIn, uow: UowDep, actor: ActorDep):
    return service.create_department(uow, actor, **body.model_dump())


@router.get("/users", response_model=list[UserOut])
def list_users(uow: UowDep, actor: ActorDep):
    return service.list_users(uow, actor)


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, uow: UowDep, actor: ActorDep):
    return service.create_user(uow, actor, **body.model_dump())


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(uow: UowDep, actor: ActorDep):
    return service.list_tokens(uow, actor)


@router.post("/tokens", response_model=IssuedTokenOut, status_code=201)
def create_token(body: TokenIn, uow: UowDep, actor: ActorDep):
    issued = service.create_token(uow, actor, name=body.name, scopes=body.scopes, user_id=body.user_id, days=body.days)
    return IssuedTokenOut(token=TokenOut.model_validate(issued.token), plaintext=issued.plaintext)


@router.post("/tokens/{token_id}/revoke", response_model=TokenOut)
def revoke_token(token_id: int, uow: UowDep, actor: ActorDep):
    return service.revoke_token(uow, actor, token_id)
