"""Auth use cases: departments, users, roles, logins and API tokens."""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from huiju.auth import permissions as P
from huiju.auth.authz import public, require, visible
from huiju.auth.events import (
    DepartmentCreated,
    LoggedIn,
    LoggedOut,
    LoginFailed,
    RoleGranted,
    TokenCreated,
    TokenRevoked,
    UserCreated,
)
from huiju.auth.models import ApiToken, Department, Membership, User, WebSession
from huiju.auth.passwords import hash_password, verify_password
from huiju.auth.roles import Actor, Role
from huiju.errors import Conflict, Invalid, NotFound, Unauthenticated
from huiju.i18n import N_
from huiju.security.crypto import sm3_hex
from huiju.storage.db import utcnow
from huiju.storage.uow import UnitOfWork

LEVELS = (N_("province"), N_("city"), N_("county"))
_REGION = re.compile(r"^[1-9]\d{5}$")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")


# ---- departments -------------------------------------------------------------------------

def create_department(uow: UnitOfWork, actor: Actor, *, code: str, name: str, level: str,
                      region_code: str, parent_code: str | None = None) -> Department:
    """Register a department (部门) with its GB/T 2260 region code."""
    require(actor, P.DEPARTMENT_CREATE)
    code, name = code.strip(), name.strip()
    if not _CODE.match(code):
        raise Invalid("Department code must be 1-32 letters, digits, '-' or '_'")
    if not name:
        raise Invalid("Department name is required")
    if level not in LEVELS:
        raise Invalid("Level must be one of province, city, county")
    if not _REGION.match(region_code):
        raise Invalid("Region code %(code)s is not a six-digit GB/T 2260 code", code=region_code)
    if uow.session.scalar(select(Department.id).where(Department.code == code)) is not None:
        raise Conflict("Department code %(code)s already exists", code=code)
    parent_id = None
    if parent_code:
        parent_id = department_by_code(uow, parent_code).id
    dept = Department(code=code, name=name, level=level, region_code=region_code, parent_id=parent_id)
    uow.add(dept)
    uow.session.flush()
    uow.emit(actor, DepartmentCreated(department_id=dept.id, code=code, name=name))
    uow.commit()
    return dept


def list_departments(uow: UnitOfWork, actor: Actor) -> list[Department]:
    require(actor, P.DEPARTMENT_VIEW)
    query = select(Department).where(visible(actor, P.DEPARTMENT_VIEW, Department)).order_by(Department.code)
    return list(uow.session.scalars(query))


@public
def department_by_code(uow: UnitOfWork, code: str) -> Department:
    """Departments are public information (name, code, region); used to resolve codes from forms and CLI."""
    dept = uow.session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise NotFound("Department %(code)s not found", code=code)
    return dept


@public
def departments_by_id(uow: UnitOfWork, ids: Iterable[int]) -> dict[int, Department]:
    """Departments by id (public information), for other contexts that hold department ids in their rows."""
    wanted = set(ids)
    if not wanted:
        return {}
    return {d.id: d for d in uow.session.scalars(select(Department).where(Department.id.in_(wanted)))}


# ---- users and roles ---------------------------------------------------------------------

def create_user(uow: UnitOfWork, actor: Actor, *, username: str, display_name: str, password: str,
                role: Role, department_code: str | None = None) -> User:
    """Create a user holding one role; department roles need the department."""
    role = Role(role)
    dept = department_by_code(uow, department_code) if department_code else None
    if role.department_scoped and dept is None:
        raise Invalid("Role %(role)s needs a department", role=role.value)
    if role == Role.OPERATOR:
        require(actor, P.OPERATOR_GRANT)
    elif role == Role.PUBLIC:
        require(actor, P.OPERATOR_GRANT)
    else:
        assert dept is not None
        require(actor, P.USER_CREATE, department_id=dept.id)
    username = username.strip()
    if not _USERNAME.match(username):
        raise Invalid("Username must be 2-64 letters, digits or . _ @ -")
    if uow.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("Username %(name)s is taken", name=username)
    user = User(username=username, display_name=display_name.strip() or username,
                password_hash=hash_password(password))
    uow.add(user)
    uow.session.flush()
    membership = Membership(user_id=user.id, role=role.value, department_id=dept.id if dept else None)
    uow.add(membership)
    uow.session.flush()
    uow.emit(actor, UserCreated(user_id=user.id, username=username))
    uow.emit(actor, RoleGranted(user_id=user.id, role=role.value, department_id=membership.department_id))
    uow.commit()
    return user


@public
def register(uow: UnitOfWork, *, username: str, display_name: str, password: str) -> User:
    """Self-registration of a member of the public (公众用户): anyone may open a public account."""
    username = username.strip()
    if not _USERNAME.match(username):
        raise Invalid("Username must be 2-64 letters, digits or . _ @ -")
    if uow.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("Username %(name)s is taken", name=username)
    user = User(username=username, display_name=display_name.strip() or username,
                password_hash=hash_password(password))
    uow.add(user)
    uow.session.flush()
    uow.add(Membership(user_id=user.id, role=Role.PUBLIC.value, department_id=None))
    uow.session.flush()
    actor = actor_for_user(user)
    uow.emit(actor, UserCreated(user_id=user.id, username=username))
    uow.emit(actor, RoleGranted(user_id=user.id, role=Role.PUBLIC.value, department_id=None))
    uow.commit()
    return user


@public
def username_taken(uow: UnitOfWork, username: str) -> bool:
    """Whether a username is in use (registration forms and generated names need to know)."""
    return uow.session.scalar(select(User.id).where(User.username == username.strip())) is not None


def grant_role(uow: UnitOfWork, actor: Actor, *, user_id: int, role: Role,
               department_code: str | None = None) -> Membership:
    role = Role(role)
    dept = department_by_code(uow, department_code) if department_code else None
    if role.department_scoped:
        if dept is None:
            raise Invalid("Role %(role)s needs a department", role=role.value)
        require(actor, P.ROLE_GRANT, department_id=dept.id)
    else:
        require(actor, P.OPERATOR_GRANT)
    user = uow.get(User, user_id)
    dept_id = dept.id if dept else None
    exists = uow.session.scalar(select(Membership).where(
        Membership.user_id == user.id, Membership.role == role.value, Membership.department_id.is_(dept_id)
        if dept_id is None else Membership.department_id == dept_id))
    if exists is not None:
        raise Conflict("User already has this role")
    membership = Membership(user_id=user.id, role=role.value, department_id=dept_id)
    uow.add(membership)
    uow.session.flush()
    uow.emit(actor, RoleGranted(user_id=user.id, role=role.value, department_id=dept_id))
    uow.commit()
    return membership


def list_users(uow: UnitOfWork, actor: Actor) -> list[User]:
    """Operators see everyone; stewards see the users of their own department."""
    require(actor, P.USER_VIEW, department_id=next(iter(actor.departments(Role.STEWARD)), None))
    query = select(User).where(visible(actor, P.USER_VIEW, User)).order_by(User.username)
    return list(uow.session.scalars(query))


def actor_for_user(user: User, *, scopes: list[str] | None = None) -> Actor:
    roles = frozenset((Role(m.role), m.department_id) for m in user.memberships)
    return Actor(user_id=user.id, username=user.username, roles=roles,
                 scopes=frozenset(scopes) if scopes is not None else None, display_name=user.display_name)


# ---- logins ------------------------------------------------------------------------------

@dataclass
class Login:
    actor: Actor
    cookie: str
    expires_at: datetime


@public
def login(uow: UnitOfWork, *, username: str, password: str) -> Login:
    """Check a password and open a web session; failures are audited and look the same for unknown users."""
    user = uow.session.scalar(select(User).where(User.username == username.strip()))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        uow.emit(Actor.anonymous(), LoginFailed(username=username[:64]))
        uow.commit()
        raise Unauthenticated("Wrong username or password")
    return _open_session(uow, user)


@public
def login_verified(uow: UnitOfWork, *, user_id: int) -> Login:
    """Open a web session for a person another trusted system has authenticated (OpenID Connect)."""
    user = uow.get(User, user_id)
    if not user.is_active:
        raise Unauthenticated("This account is disabled")
    return _open_session(uow, user)


def _open_session(uow: UnitOfWork, user: User) -> Login:
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + timedelta(hours=uow.settings.session_hours)
    uow.add(WebSession(secret_hash=sm3_hex(secret.encode()), user_id=user.id, expires_at=expires))
    user.last_login_at = now
    actor = actor_for_user(user)
    uow.emit(actor, LoggedIn(user_id=user.id))
    uow.commit()
    return Login(actor, secret, expires)


@public
def actor_for_session(uow: UnitOfWork, cookie: str | None) -> Actor:
    """Resolve a session cookie to its actor; anything unknown, ended or expired is anonymous."""
    if not cookie:
        return Actor.anonymous()
    ws = uow.session.scalar(select(WebSession).where(WebSession.secret_hash == sm3_hex(cookie.encode())))
    if ws is None or ws.ended_at is not None or ws.expires_at <= utcnow():
        return Actor.anonymous()
    user = uow.session.get(User, ws.user_id)
    if user is None or not user.is_active:
        return Actor.anonymous()
    return actor_for_user(user)


def logout(uow: UnitOfWork, actor: Actor, cookie: str) -> None:
    ws = uow.session.scalar(select(WebSession).where(WebSession.secret_hash == sm3_hex(cookie.encode())))
    if ws is None:
        return
    require(actor, P.SESSION_END, owner_id=ws.user_id)
    ws.ended_at = utcnow()
    uow.emit(actor, LoggedOut(user_id=ws.user_id))
    uow.commit()


# ---- API tokens --------------------------------------------------------------------------

TOKEN_PREFIX = "hj_"
LAST_USE_RESOLUTION = timedelta(minutes=1)  # a token's last use is written at most once a minute


@dataclass
class IssuedToken:
    token: ApiToken
    plaintext: str  # shown once; only its SM3 hash is stored


def create_token(uow: UnitOfWork, actor: Actor, *, name: str, scopes: list[str],
                 user_id: int | None = None, days: int | None = None) -> IssuedToken:
    """Issue a scoped, expiring token for ``user_id`` (default: the actor)."""
    owner_id = user_id if user_id is not None else actor.user_id
    if owner_id is None:
        raise Invalid("Say which user the token is for")
    require(actor, P.TOKEN_CREATE, owner_id=owner_id)
    user = uow.get(User, owner_id)
    scopes = sorted({s.strip() for s in scopes if s.strip()})
    if not scopes:
        raise Invalid("A token needs at least one scope (for example auth.department.view or *)")
    days = days or uow.settings.token_days
    if not 1 <= days <= 3650:
        raise Invalid("Token lifetime must be between 1 and 3650 days")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken(prefix=prefix, secret_hash=sm3_hex(secret.encode()), user_id=user.id, name=name.strip() or prefix,
                     scopes=scopes, expires_at=utcnow() + timedelta(days=days))
    uow.add(token)
    uow.session.flush()
    uow.emit(actor, TokenCreated(token_id=token.id, user_id=user.id, scopes=scopes))
    uow.commit()
    return IssuedToken(token, f"{TOKEN_PREFIX}{prefix}_{secret}")


def revoke_token(uow: UnitOfWork, actor: Actor, token_id: int) -> ApiToken:
    token = uow.get(ApiToken, token_id)
    require(actor, P.TOKEN_REVOKE, owner_id=token.user_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        uow.emit(actor, TokenRevoked(token_id=token.id))
        uow.commit()
    return token


def list_tokens(uow: UnitOfWork, actor: Actor) -> list[ApiToken]:
    require(actor, P.TOKEN_VIEW, owner_id=actor.user_id)
    query = select(ApiToken).where(visible(actor, P.TOKEN_VIEW, ApiToken)).order_by(ApiToken.id)
    return list(uow.session.scalars(query))


@public
def actor_for_token(uow: UnitOfWork, presented: str) -> Actor:
    """Resolve a bearer token; records its last use. Unknown, expired and revoked tokens are refused."""
    if not presented.startswith(TOKEN_PREFIX) or presented.count("_") < 2:
        raise Unauthenticated("Invalid API token")
    prefix, _, secret = presented[len(TOKEN_PREFIX):].partition("_")
    token = uow.session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    if token is None or not hmac.compare_digest(token.secret_hash, sm3_hex(secret.encode())):
        raise Unauthenticated("Invalid API token")
    now = utcnow()
    status = token.status(now)
    if status == "expired":
        raise Unauthenticated("API token has expired")
    if status == "revoked":
        raise Unauthenticated("API token has been revoked")
    if not token.user.is_active:
        raise Unauthenticated("Invalid API token")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_RESOLUTION:
        token.last_used_at = now
        try:
            uow.commit()
        except OperationalError:
            # Last use is advisory: on SQLite another writer may have committed since this call's first read
            # ("database is locked"); the call goes on in a fresh transaction rather than failing.
            uow.rollback()
    return actor_for_user(token.user, scopes=token.scopes)


def user_by_username(uow: UnitOfWork, actor: Actor, username: str) -> User:
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("User %(name)s not found", name=username)
    require(actor, P.TOKEN_CREATE, owner_id=user.id)
    return user
