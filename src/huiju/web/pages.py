"""HTML pages of the shell: login, logout, language switch, a home page per role, departments, audit, tokens."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from huiju.auth import service as auth_service
from huiju.auth.authz import allowed
from huiju.auth.roles import Role
from huiju.catalog import service as catalog_service
from huiju.catalog import vocab as catalog_vocab
from huiju.errors import HuijuError
from huiju.ingest import service as ingest_service
from huiju.ingest.authority import service as authority_service
from huiju.ingest.authority.models import STATUS_LABELS
from huiju.security import service as security_service
from huiju.share import service as share_service
from huiju.share.workflow import OBJECTION_LABELS
from huiju.share.permissions import OBJECTION_RESOLVE
from huiju.web.deps import SESSION_COOKIE, ActorDep, CsrfDep, UowDep
from huiju.web.rendering import render
from huiju.web.rendering import require_login as _require_login

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so the login form cannot be used as an open redirect."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, actor: ActorDep, next: str = "/") -> Response:
    return render(request, actor, "login.html", next=_safe_next(next), error=None, username="")


@router.post("/login", response_class=HTMLResponse, dependencies=[CsrfDep])
def login_submit(request: Request, uow: UowDep, actor: ActorDep,
                 username: Annotated[str, Form()], password: Annotated[str, Form()],
                 next: Annotated[str, Form()] = "/") -> Response:
    try:
        result = auth_service.login(uow, username=username, password=password)
    except HuijuError as exc:
        return render(request, actor, "login.html", status_code=exc.status, next=_safe_next(next),
                      error=exc.localized(), username=username)
    response = RedirectResponse(_safe_next(next), status_code=303)
    settings = request.app.state.storage.settings
    response.set_cookie(SESSION_COOKIE, result.cookie, httponly=True, samesite="lax",
                        secure=settings.cookie_secure or request.url.scheme == "https",
                        max_age=settings.session_hours * 3600)
    return response


@router.post("/logout", dependencies=[CsrfDep])
def logout(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if actor.is_authenticated and cookie:
        auth_service.logout(uow, actor, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    """Each role lands on its own home page."""
    _require_login(actor)
    role = actor.primary_role
    if role == Role.OPERATOR:
        return render(request, actor, "home/operator.html",
                      departments=auth_service.list_departments(uow, actor),
                      users=auth_service.list_users(uow, actor),
                      audit=security_service.list_audit(uow, actor, limit=10),
                      overdue=catalog_service.overdue_entries(uow, actor), catalog_vocab=catalog_vocab,
                      reviewing=len(catalog_service.review_queue(uow, actor)))
    if role in (Role.STEWARD, Role.DEPT_USER):
        dept_ids = actor.departments()
        departments = [d for d in auth_service.list_departments(uow, actor) if d.id in dept_ids]
        if role == Role.STEWARD:
            return render(request, actor, "home/steward.html", departments=departments,
                          users=auth_service.list_users(uow, actor),
                          tasks=authority_service.list_tasks(uow, actor, limit=20),
                          open_tasks=authority_service.count_open_tasks(uow, actor),
                          jobs=ingest_service.list_jobs(uow, actor, limit=10), status_labels=STATUS_LABELS,
                          objections=share_service.list_objections(uow, actor, status="open", box="inbox"),
                          can_resolve=lambda o: allowed(actor, OBJECTION_RESOLVE,
                                                        department_id=o.provider_department_id),
                          objection_label=lambda s: OBJECTION_LABELS.get(s, s),
                          overdue=catalog_service.overdue_entries(uow, actor), catalog_vocab=catalog_vocab)
        return render(request, actor, "home/dept_user.html", departments=departments)
    return render(request, actor, "home/public.html")


@router.get("/departments", response_class=HTMLResponse)
def departments(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    _require_login(actor)
    return render(request, actor, "departments.html", departments=auth_service.list_departments(uow, actor))


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, uow: UowDep, actor: ActorDep, before_seq: int | None = None) -> Response:
    _require_login(actor)
    entries = security_service.list_audit(uow, actor, limit=50, before_seq=before_seq)
    return render(request, actor, "audit.html", entries=entries, report=None)


@router.post("/audit/verify", response_class=HTMLResponse, dependencies=[CsrfDep])
def audit_verify(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    _require_login(actor)
    report = security_service.verify_audit(uow, actor)
    entries = security_service.list_audit(uow, actor, limit=50)
    return render(request, actor, "audit.html", entries=entries, report=report)


@router.get("/tokens", response_class=HTMLResponse)
def tokens(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    _require_login(actor)
    return render(request, actor, "tokens.html", tokens=auth_service.list_tokens(uow, actor), issued=None)


@router.post("/tokens", response_class=HTMLResponse, dependencies=[CsrfDep])
def tokens_create(request: Request, uow: UowDep, actor: ActorDep, name: Annotated[str, Form()] = "",
                  scopes: Annotated[str, Form()] = "", days: Annotated[int, Form()] = 90) -> Response:
    _require_login(actor)
    issued = auth_service.create_token(uow, actor, name=name, scopes=scopes.replace(",", " ").split(), days=days)
    return render(request, actor, "tokens.html", tokens=auth_service.list_tokens(uow, actor), issued=issued)


@router.post("/tokens/{token_id}/revoke", dependencies=[CsrfDep])
def tokens_revoke(token_id: int, uow: UowDep, actor: ActorDep) -> Response:
    _require_login(actor)
    auth_service.revoke_token(uow, actor, token_id)
    return RedirectResponse("/tokens", status_code=303)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
