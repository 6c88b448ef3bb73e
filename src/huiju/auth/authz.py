"""The one place permissions are decided: ``require``, ``allowed`` and ``visible``.

Each context declares its actions in its ``permissions.py``; service functions call
``require`` first. A service function meant for unauthenticated callers (login, token
resolution) is decorated ``@public`` so the completeness test knows it is deliberate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false, true

from huiju.auth.roles import Actor, Role
from huiju.errors import Forbidden, Unauthenticated


class Scope(StrEnum):
    PLATFORM = "platform"  # the role alone decides
    DEPARTMENT = "department"  # department roles act only on their own department
    SELF = "self"  # only on the actor's own things (operators on anyone's)


@dataclass(frozen=True)
class Action:
    name: str
    roles: frozenset[Role]
    scope: Scope
    description: str


ACTIONS: dict[str, Action] = {}


def declare(name: str, roles: set[Role], scope: Scope, description: str) -> Action:
    """Declare an action once, in the owning context's permissions.py."""
    if name in ACTIONS:
        raise ValueError(f"action {name} declared twice")
    action = Action(name, frozenset(roles), scope, description)
    ACTIONS[name] = action
    return action


F = TypeVar("F", bound=Callable[..., Any])


def public(fn: F) -> F:
    """Mark a service function as callable without a permission check (it authenticates instead)."""
    fn.__huiju_public__ = True  # type: ignore[attr-defined]
    return fn


def _token_permits(actor: Actor, action: Action) -> bool:
    if actor.scopes is None:
        return True
    for scope in actor.scopes:
        if scope == "*" or scope == action.name:
            return True
        if scope.endswith(".*") and action.name.startswith(scope[:-1]):
            return True
    return False


def allowed(actor: Actor, action: Action, *, department_id: int | None = None, owner_id: int | None = None) -> bool:
    if not _token_permits(actor, action):
        return False
    if actor.kind == "system":
        return True
    for role, dept in actor.roles:
        if role not in action.roles:
            continue
        if role == Role.OPERATOR or action.scope == Scope.PLATFORM:
            return True
        if action.scope == Scope.DEPARTMENT and department_id is not None and dept == department_id:
            return True
        if action.scope == Scope.SELF and owner_id is not None and owner_id == actor.user_id:
            return True
    return False


def require(actor: Actor, action: Action, *, department_id: int | None = None, owner_id: int | None = None) -> None:
    """Raise unless ``actor`` may perform ``action`` (on that department or owner's thing)."""
    if allowed(actor, action, department_id=department_id, owner_id=owner_id):
        return
    if not actor.is_authenticated:
        raise Unauthenticated("Please log in first")
    raise Forbidden("You are not allowed to do this (%(action)s)", action=action.name)


def visible(actor: Actor, action: Action, model: Any) -> ColumnElement[bool]:
    """A SQL condition selecting the rows of ``model`` the actor may see, for use in list queries.

    A model names its department column with ``__authz_department__`` (or supplies
    ``authz_department_clause(ids)``) and its owner column with ``__authz_owner__``.
    """
    if not _token_permits(actor, action):
        return false()
    if actor.kind == "system":
        return true()
    dept_ids: set[int] = set()
    for role, dept in actor.roles:
        if role not in action.roles:
            continue
        if role == Role.OPERATOR or action.scope == Scope.PLATFORM:
            return true()
        if action.scope == Scope.DEPARTMENT and dept is not None:
            dept_ids.add(dept)
        if action.scope == Scope.SELF and actor.user_id is not None:
            return getattr(model, model.__authz_owner__) == actor.user_id
    if not dept_ids:
        return false()
    clause = getattr(model, "authz_department_clause", None)
    if clause is not None:
        return clause(dept_ids)
    return getattr(model, model.__authz_department__).in_(sorted(dept_ids))
