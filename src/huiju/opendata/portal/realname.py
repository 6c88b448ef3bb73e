"""Real-name verification (实名认证) is an outside system; the portal talks to it through this interface.

Two implementations: ``HttpRealNameProvider`` for the bureau's verification service, and
whatever a test or an integrator passes in with the same two methods.
"""

from __future__ import annotations

from typing import Protocol

import httpx

from huiju.errors import Invalid


class RealNameProvider(Protocol):
    def check_phone(self, phone: str, code: str) -> str | None:
        """The provider's receipt when ``code`` is the one it sent to ``phone``, else None."""

    def check_identity(self, name: str, id_number: str) -> str | None:
        """The provider's receipt when the name matches the citizen ID number, else None."""


class HttpRealNameProvider:
    """A verification service answering JSON ``{"verified": bool, "reference": str}`` at two paths."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        if not base_url:
            raise Invalid("Real-name verification is not configured on this platform")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _ask(self, path: str, body: dict[str, str]) -> str | None:
        try:
            response = httpx.post(f"{self.base_url}{path}", json=body, timeout=self.timeout)
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, ValueError):
            raise Invalid("The real-name verification service did not answer; try again later") from None
        return str(answer.get("reference") or "") or "verified" if answer.get("verified") else None

    def check_phone(self, phone: str, code: str) -> str | None:
        return self._ask("/phone", {"phone": phone, "code": code})

    def check_identity(self, name: str, id_number: str) -> str | None:
        return self._ask("/identity", {"name": name, "id_number": id_number})
