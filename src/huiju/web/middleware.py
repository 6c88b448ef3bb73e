"""The one middleware: the request's language, the cookies a handler asked for, and the security headers.

Plain ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware runs the app in a task
group behind memory streams, which cost about a third of the server time of a CKAN API call (bench/opendata).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from huiju.config import Settings
from huiju.i18n import LOCALES, set_locale
from huiju.web.deps import CSRF_COOKIE, LANG_COOKIE

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}


class LocaleAndCookies:
    """Sets the locale from ``?lang=`` or the cookie; on the way out sets the language and CSRF cookies."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        lang = request.query_params.get("lang")
        chosen = lang if lang in LOCALES else request.cookies.get(LANG_COOKIE)
        set_locale(chosen if chosen in LOCALES else self.settings.default_locale)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                new_csrf = getattr(request.state, "new_csrf", None)  # set by web.deps.csrf_token while handling
                if lang in LOCALES or new_csrf:  # most API calls set no cookie: nothing to build
                    cookies = Response()
                    secure = self.settings.cookie_secure or scope.get("scheme") == "https"
                    if lang in LOCALES:
                        cookies.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=secure)
                    if new_csrf:
                        cookies.set_cookie(CSRF_COOKIE, new_csrf, httponly=True, samesite="strict", secure=secure)
                    for name, value in cookies.raw_headers:
                        if name == b"set-cookie":
                            headers.append("set-cookie", value.decode("latin-1"))
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
