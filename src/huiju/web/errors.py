"""One JSON error envelope for every API error; an HTML error page (or a login redirect) for pages."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from huiju.errors import HuijuError
from huiju.i18n import N_, gettext

log = logging.getLogger("huiju.web")

HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid",
              429: "rate_limited", 500: "internal_error"}
HTTP_MESSAGES = {404: N_("Page or resource not found"), 405: N_("Method not allowed"),
                 413: N_("Request too large"), 500: N_("Internal error; the incident has been logged")}


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path in ("/openapi.json",) or "application/json" in request.headers.get("accept", "")


def envelope(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": {"status": status, "code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return JSONResponse(body, status_code=status)


def _page(request: Request, status: int, message: str) -> Response:
    if status == 401:
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/login?next={target}", status_code=303)
    templates = request.app.state.templates
    return templates.TemplateResponse(request, "error.html", {"status": status, "message": message},
                                      status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(HuijuError)
    async def _huiju(request: Request, exc: HuijuError) -> Response:
        response = (envelope(exc.status, exc.code, exc.localized()) if wants_json(request)
                    else _page(request, exc.status, exc.localized()))
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        details = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
                   for e in exc.errors()]
        message = gettext("Some fields are missing or invalid")
        if wants_json(request):
            return envelope(422, "invalid", message, details)
        return _page(request, 422, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, "error")
        message = gettext(HTTP_MESSAGES.get(exc.status_code, str(exc.detail)))
        if wants_json(request):
            return envelope(exc.status_code, code, message)
        return _page(request, exc.status_code, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = gettext(HTTP_MESSAGES[500])
        if wants_json(request):
            return envelope(500, "internal_error", message)
        return _page(request, 500, message)



