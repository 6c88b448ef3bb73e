"""HTML pages of the public portal under ``/open``: registration, OpenID login, the account with its
real-name level and keys, conditional-data applications, and interaction. Thin callers of service.py."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from huiju.auth import service as auth_service
from huiju.errors import HuijuError, Unauthenticated
from huiju.opendata.portal import service
from huiju.opendata.portal.api import RealNameDep, oidc_provider
from huiju.opendata.portal.deadlines import CHINA
from huiju.opendata.portal_models import APPLICATION_LABELS, FEEDBACK_LABELS, MODERATION_LABELS, REALNAME_LABELS
from huiju.web.deps import SESSION_COOKIE, ActorDep, CsrfDep, UowDep
from huiju.web.rendering import render, require_login

router = APIRouter(prefix="/open", include_in_schema=False)

LABELS = {"realname": REALNAME_LABELS, "application": APPLICATION_LABELS, "feedback": FEEDBACK_LABELS,
          "moderation": MODERATION_LABELS}


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so login links cannot redirect elsewhere."""
    if not target:
        return "/open/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/open/"
    return target


def _page(request: Request, actor, template: str, status_code: int = 200, **context) -> HTMLResponse:
    return render(request, actor, template, status_code=status_code, labels=LABELS, china=CHINA, **context)


def _with_session(request: Request, target: str, login: auth_service.Login) -> Response:
    response = RedirectResponse(target, status_code=303)
    settings = request.app.state.storage.settings
    response.set_cookie(SESSION_COOKIE, login.cookie, httponly=True, samesite="lax",
                        secure=settings.cookie_secure or request.url.scheme == "https",
                        max_age=settings.session_hours * 3600)
    return response


# ---- registration and login --------------------------------------------------------------

@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request, actor: ActorDep, next: str = "/open/") -> Response:
    return _page(request, actor, "portal/register.html", next=_safe_next(next), error=None, form={})


@router.post("/register", response_class=HTMLResponse, dependencies=[CsrfDep])
def register_submit(request: Request, uow: UowDep, actor: ActorDep, username: Annotated[str, Form()],
                    password: Annotated[str, Form()], display_name: Annotated[str, Form()] = "",
                    email: Annotated[str, Form()] = "", organization: Annotated[str, Form()] = "",
                    next: Annotated[str, Form()] = "/open/") -> Response:
    form = {"username": username, "display_name": display_name, "email": email, "organization": organization}
    try:
        service.register_account(uow, username=username, display_name=display_name, password=password,
                                 email=email, organization=organization)
        login = auth_service.login(uow, username=username, password=password)
    except HuijuError as exc:
        return _page(request, actor, "portal/register.html", status_code=exc.status, next=_safe_next(next),
                     error=exc.localized(), form=form)
    return _with_session(request, _safe_next(next), login)


@router.get("/login/oidc")
def oidc_start(request: Request, uow: UowDep, next: str = "/open/") -> Response:
    url = service.start_oidc_login(uow, oidc_provider(request), redirect_uri=str(request.url_for("oidc_callback")),
                                   next_path=_safe_next(next))
    return RedirectResponse(url, status_code=303)


@router.get("/oidc/callback", name="oidc_callback")
def oidc_callback(request: Request, uow: UowDep, state: str = "", code: str = "", error: str = "") -> Response:
    if error or not code:
        raise Unauthenticated("The identity provider refused the login")
    result = service.finish_oidc_login(uow, oidc_provider(request), state=state, code=code,
                                       redirect_uri=str(request.url_for("oidc_callback")))
    return _with_session(request, _safe_next(result.next_path), result.login)


# ---- the account: real-name level and API keys -------------------------------------------

def _account_page(request: Request, uow, actor, *, issued=None, error=None, status_code=200) -> Response:
    return _page(request, actor, "portal/account.html", status_code=status_code,
                 account=service.account_of(uow, actor), keys=service.list_keys(uow, actor), issued=issued,
                 error=error, settings=request.app.state.storage.settings,
                 applications=service.list_my_applications(uow, actor))


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    return _account_page(request, uow, actor)


@router.post("/account/identity", response_class=HTMLResponse, dependencies=[CsrfDep])
def account_identity(request: Request, uow: UowDep, actor: ActorDep, provider: RealNameDep,
                     name: Annotated[str, Form()], id_number: Annotated[str, Form()]) -> Response:
    require_login(actor)
    try:
        service.verify_identity(uow, actor, name=name, id_number=id_number, provider=provider)
    except HuijuError as exc:
        uow.rollback()
        return _account_page(request, uow, actor, error=exc.localized(), status_code=exc.status)
    return RedirectResponse("/open/account", status_code=303)


@router.post("/account/phone", response_class=HTMLResponse, dependencies=[CsrfDep])
def account_phone(request: Request, uow: UowDep, actor: ActorDep, provider: RealNameDep,
                  phone: Annotated[str, Form()], code: Annotated[str, Form()]) -> Response:
    require_login(actor)
    try:
        service.verify_phone(uow, actor, phone=phone, code=code, provider=provider)
    except HuijuError as exc:
        uow.rollback()
        return _account_page(request, uow, actor, error=exc.localized(), status_code=exc.status)
    return RedirectResponse("/open/account", status_code=303)


@router.post("/account/keys", response_class=HTMLResponse, dependencies=[CsrfDep])
def account_key(request: Request, uow: UowDep, actor: ActorDep, name: Annotated[str, Form()] = "") -> Response:
    require_login(actor)
    issued = service.create_key(uow, actor, name=name)
    return _account_page(request, uow, actor, issued=issued.plaintext)


@router.post("/account/keys/{key_id}/revoke", dependencies=[CsrfDep])
def account_key_revoke(key_id: int, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    service.revoke_key(uow, actor, key_id)
    return RedirectResponse("/open/account", status_code=303)
