"""Request dependencies: the unit of work, who is acting, and CSRF checks. Routes stay thin."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Form, Request

from huiju.auth import service as auth_service
from huiju.auth.roles import Actor
from huiju.errors import Forbidden
from huiju.storage.uow import Storage, UnitOfWork

SESSION_COOKIE = "huiju_session"
CSRF_COOKIE = "huiju_csrf"
LANG_COOKIE = "huiju_lang"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_storage(request: Request) -> Storage:
    return request.app.state.storage


def get_uow(storage: Annotated[Storage, Depends(get_storage)]) -> Iterator[UnitOfWork]:
    with storage.uow() as uow:
        yield uow


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def get_actor(request: Request, uow: UowDep) -> Actor:
    """A bearer token wins; otherwise the session cookie (with a CSRF header on unsafe API calls)."""
    token = _bearer(request)
    if token is not None:
        actor = auth_service.actor_for_token(uow, token)
    else:
        actor = auth_service.actor_for_session(uow, request.cookies.get(SESSION_COOKIE))
        if actor.is_authenticated and request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
            check_csrf(request, request.headers.get("x-csrf-token"))
    request.state.actor = actor
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


# ---- CSRF: a signed random token in a cookie, echoed by every form or unsafe API call -----

def _sign(request: Request, nonce: str) -> str:
    key = request.app.state.storage.settings.signing_key()
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()[:32]


def csrf_token(request: Request) -> str:
    """The token for this browser, created on first use and set as a cookie by the page response."""
    existing = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if existing and _valid(request, existing):
        return existing
    nonce = secrets.token_urlsafe(24)
    token = f"{nonce}.{_sign(request, nonce)}"
    request.state.new_csrf = token
    return token


def _valid(request: Request, token: str) -> bool:
    nonce, _, mac = token.partition(".")
    return bool(nonce) and hmac.compare_digest(mac, _sign(request, nonce))


def check_csrf(request: Request, presented: str | None) -> None:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not presented or not hmac.compare_digest(cookie, presented) or not _valid(request, cookie):
        raise Forbidden("The form has expired or did not come from this site; reload the page and try again")


def csrf_form(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """Dependency for HTML form posts."""
    check_csrf(request, csrf_token)


CsrfDep = Depends(csrf_form)
