"""Rendering a page with what every template needs: the actor, the CSRF token, the path."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from huiju.auth.roles import Actor
from huiju.errors import Unauthenticated
from huiju.web.deps import csrf_token


def render(request: Request, actor: Actor, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    templates = request.app.state.templates
    context.update(actor=actor, csrf_token=csrf_token(request), path=request.url.path)
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def require_login(actor: Actor) -> None:
    """Pages answer anonymous visitors with a redirect to the login page (see web/errors.py)."""
    if not actor.is_authenticated:
        raise Unauthenticated("Please log in first")
