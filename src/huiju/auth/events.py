"""Events of the auth context (each lands in the audit chain)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from huiju.events import Event


@dataclass(frozen=True, kw_only=True)
class AuthEvent(Event):
    context: ClassVar[str] = "auth"


@dataclass(frozen=True, kw_only=True)
class DepartmentCreated(AuthEvent):
    department_id: int
    code: str
    name: str


@dataclass(frozen=True, kw_only=True)
class UserCreated(AuthEvent):
    user_id: int
    username: str


@dataclass(frozen=True, kw_only=True)
class RoleGranted(AuthEvent):
    user_id: int
    role: str
    department_id: int | None


@dataclass(frozen=True, kw_only=True)
class LoggedIn(AuthEvent):
    user_id: int


@dataclass(frozen=True, kw_only=True)
class LoginFailed(AuthEvent):
    username: str


@dataclass(frozen=True, kw_only=True)
class LoggedOut(AuthEvent):
    user_id: int


@dataclass(frozen=True, kw_only=True)
class TokenCreated(AuthEvent):
    token_id: int
    user_id: int
    scopes: list[str]


@dataclass(frozen=True, kw_only=True)
class TokenRevoked(AuthEvent):
    token_id: int
