"""The platform's errors; each maps to one HTTP status and one JSON envelope (see web/errors.py)."""

from __future__ import annotations

from typing import Any


class HuijuError(Exception):
    """Base error: ``message`` is an English msgid translated when shown to a person."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, /, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def localized(self) -> str:
        from huiju.i18n import gettext

        text = gettext(self.message)
        return text % self.params if self.params else text


class Invalid(HuijuError):
    status = 422
    code = "invalid"


class NotFound(HuijuError):
    status = 404
    code = "not_found"


class Conflict(HuijuError):
    status = 409
    code = "conflict"


class Unauthenticated(HuijuError):
    status = 401
    code = "unauthenticated"


class Forbidden(HuijuError):
    status = 403
    code = "forbidden"


class TooLarge(HuijuError):
    status = 413
    code = "too_large"


class RateLimited(HuijuError):
    """Too many calls; ``retry_after`` seconds until the next one is allowed."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, /, retry_after: int = 1, **params: object) -> None:
        super().__init__(message, **params)
        self.retry_after = retry_after
