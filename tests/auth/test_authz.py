"""The permission matrix (role × action), token scopes, `visible` in queries, and require() coverage."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap

import pytest
from sqlalchemy import select

import huiju
from huiju.auth import permissions as P
from huiju.auth import service
from huiju.auth.authz import ACTIONS, allowed, require, visible
from huiju.auth.models import Department, User
from huiju.auth.roles import Actor, Role
from huiju.errors import Forbidden, Unauthenticated
from huiju.catalog import permissions as C
from huiju.ingest import permissions as I
from huiju.opendata import permissions as O
from huiju.opendata.portal import permissions as PO
from huiju.security import permissions as S
from huiju.share import permissions as SH

GA, RS = 1, 2


def actor(role: Role, dept: int | None = None, uid: int = 7) -> Actor:
    return Actor(user_id=uid, username=f"{role}-{dept}", roles=frozenset({(role, dept)}))


OP = actor(Role.OPERATOR)
GA_STEWARD = actor(Role.STEWARD, GA)
GA_USER = actor(Role.DEPT_USER, GA)
PUBLIC = actor(Role.PUBLIC)
ANON = Actor.anonymous()

# (action, target department, target owner) → who may: the whole matrix is spelled out on purpose.
MATRIX = [
    (P.DEPARTMENT_CREATE, None, None, {"op"}),
    (P.DEPARTMENT_VIEW, None, None, {"op", "ga_steward", "ga_user", "public"}),
    (P.USER_CREATE, GA, None, {"op", "ga_steward"}),
    (P.USER_CREATE, RS, None, {"op"}),
    (P.USER_VIEW, GA, None, {"op", "ga_steward"}),
    (P.USER_VIEW, RS, None, {"op"}),
    (P.ROLE_GRANT, GA, None, {"op", "ga_steward"}),
    (P.ROLE_GRANT, RS, None, {"op"}),
    (P.OPERATOR_GRANT, None, None, {"op"}),
    (P.TOKEN_CREATE, None, 7, {"op", "ga_steward", "ga_user", "public"}),
    (P.TOKEN_CREATE, None, 99, {"op"}),
    (P.TOKEN_REVOKE, None, 99, {"op"}),
    (P.TOKEN_VIEW, None, 7, {"op", "ga_steward", "ga_user", "public"}),
    (P.SESSION_END, None, 7, {"op", "ga_steward", "ga_user", "public"}),
    (P.SESSION_END, None, 99, {"op"}),
    (C.DATASET_VIEW, GA, None, {"op", "ga_steward", "ga_user"}),
    (C.DATASET_VIEW, RS, None, {"op"}),
    (C.DATASET_MANAGE, GA, None, {"op", "ga_steward"}),
    (C.DATASET_MANAGE, RS, None, {"op"}),
    (C.ENTRY_BROWSE, None, None, {"op", "ga_steward", "ga_user", "public"}),
    (C.ENTRY_VIEW, GA, None, {"op", "ga_steward", "ga_user"}),
    (C.ENTRY_VIEW, RS, None, {"op"}),
    (C.ENTRY_MANAGE, GA, None, {"op", "ga_steward"}),
    (C.ENTRY_MANAGE, RS, None, {"op"}),
    (C.ENTRY_REVIEW, None, None, {"op"}),
    (C.HARVEST_MANAGE, None, None, {"op"}),
    (C.DATA_READ, GA, None, {"op", "ga_steward", "ga_user"}),
    (C.DATA_READ, RS, None, {"op"}),
    (C.DATA_READ_GRANTED, None, None, {"op", "ga_steward", "ga_user", "public"}),
    (C.LABEL_MANAGE, GA, None, {"op", "ga_steward"}),
    (C.LABEL_MANAGE, RS, None, {"op"}),
    (C.LEVEL_EXCEPTION, None, None, {"op"}),
    (C.LABEL_VIEW, None, None, {"op"}),
    (I.INGEST_RUN, GA, None, {"op", "ga_steward"}),
    (I.INGEST_RUN, RS, None, {"op"}),
    (I.INGEST_VIEW, GA, None, {"op", "ga_steward"}),
    (I.QUARANTINE_RESOLVE, GA, None, {"op", "ga_steward"}),
    (I.SOURCE_MANAGE, GA, None, {"op", "ga_steward"}),
    (I.SOURCE_MANAGE, RS, None, {"op"}),
    (I.JOB_WORK, None, None, {"op"}),
    (I.ELEMENT_VIEW, None, None, {"op", "ga_steward", "ga_user"}),
    (I.ELEMENT_MANAGE, None, None, {"op"}),
    (I.ELEMENT_MAP, GA, None, {"op", "ga_steward"}),
    (I.ELEMENT_MAP, RS, None, {"op"}),
    (I.AUTHORITY_COMPARE, GA, None, {"op", "ga_steward"}),
    (I.AUTHORITY_COMPARE, RS, None, {"op"}),
    (I.CORRECTION_VIEW, GA, None, {"op", "ga_steward"}),
    (I.CORRECTION_VIEW, RS, None, {"op"}),
    (I.CORRECTION_RESOLVE, GA, None, {"op", "ga_steward"}),
    (I.CORRECTION_RESOLVE, RS, None, {"op"}),
    (I.BASELIB_BUILD, None, None, {"op"}),
    (S.AUDIT_VIEW, None, None, {"op"}),
    (S.AUDIT_VERIFY, None, None, {"op"}),
    (S.AUDIT_CHECKPOINT, None, None, {"op"}),
    (S.AUDIT_EXPORT, None, None, {"op"}),
    (S.KEYS_VIEW, None, None, {"op"}),
    (S.KEYS_ROTATE, None, None, {"op"}),
    (SH.REQUEST_CREATE, GA, None, {"op", "ga_steward", "ga_user"}),
    (SH.REQUEST_CREATE, RS, None, {"op"}),
    (SH.REQUEST_VIEW, GA, None, {"op", "ga_steward", "ga_user"}),
    (SH.REQUEST_VIEW, RS, None, {"op"}),
    (SH.REQUEST_REVIEW, GA, None, {"op", "ga_steward"}),
    (SH.REQUEST_REVIEW, RS, None, {"op"}),
    (SH.REQUEST_RULE, None, None, {"op"}),
    (SH.DEADLINE_CHECK, None, None, {"op"}),
    (SH.OVERVIEW, None, None, {"op"}),
    (SH.GRANT_VIEW, GA, None, {"op", "ga_steward", "ga_user"}),
    (SH.GRANT_VIEW, RS, None, {"op"}),
    (SH.GRANT_MANAGE, GA, None, {"op", "ga_steward"}),
    (SH.GRANT_MANAGE, RS, None, {"op"}),
    (SH.GRANT_TOKEN, GA, None, {"op", "ga_steward", "ga_user"}),
    (SH.GRANT_TOKEN, RS, None, {"op"}),
    (SH.DATA_READ, GA, None, {"op", "ga_steward", "ga_user"}),
    (SH.DATA_READ, RS, None, {"op"}),
    (SH.OBJECTION_REPORT, GA, None, {"op", "ga_steward", "ga_user"}),
    (SH.OBJECTION_REPORT, RS, None, {"op"}),
    (SH.OBJECTION_RESOLVE, GA, None, {"op", "ga_steward"}),
    (SH.OBJECTION_RESOLVE, RS, None, {"op"}),
    (SH.TRACE, None, None, {"op"}),
    (O.OPEN_PROPOSE, GA, None, {"op", "ga_steward"}),
    (O.OPEN_PROPOSE, RS, None, {"op"}),
    (O.OPEN_REVIEW, None, None, {"op"}),
    (O.OPEN_MANAGE, GA, None, {"op", "ga_steward"}),
    (O.OPEN_MANAGE, RS, None, {"op"}),
    (PO.ACCOUNT_MANAGE, None, 7, {"op", "ga_steward", "ga_user", "public"}),
    (PO.ACCOUNT_MANAGE, None, 99, {"op"}),
    (PO.KEY_MANAGE, None, 7, {"op", "ga_steward", "ga_user", "public"}),
    (PO.KEY_MANAGE, None, 99, {"op"}),
    (PO.APPLICATION_SUBMIT, None, 7, {"op", "ga_steward", "ga_user", "public"}),
    (PO.APPLICATION_SUBMIT, None, 99, {"op"}),
    (PO.APPLICATION_REVIEW, GA, None, {"op", "ga_steward"}),
    (PO.APPLICATION_REVIEW, RS, None, {"op"}),
    (PO.FEEDBACK_SUBMIT, None, None, {"op", "ga_steward", "ga_user", "public"}),
    (PO.FEEDBACK_REPLY, GA, None, {"op", "ga_steward"}),
    (PO.FEEDBACK_REPLY, RS, None, {"op"}),
    (PO.FEEDBACK_REPLY, None, None, {"op"}),
    (PO.MODERATE, None, None, {"op"}),
    (PO.CONDITIONAL_READ, None, 7, {"op", "ga_steward", "ga_user", "public"}),
    (PO.CONDITIONAL_READ, None, 99, {"op"}),
]
ACTORS = {"op": OP, "ga_steward": GA_STEWARD, "ga_user": GA_USER, "public": PUBLIC, "anon": ANON}


@pytest.mark.parametrize("action,dept,owner,who", MATRIX, ids=[f"{m[0].name}-{m[1]}-{m[2]}" for m in MATRIX])
@pytest.mark.parametrize("name", list(ACTORS))
def test_permission_matrix(action, dept, owner, who, name):
    expected = name in who
    assert allowed(ACTORS[name], action, department_id=dept, owner_id=owner) is expected
    if expected:
        require(ACTORS[name], action, department_id=dept, owner_id=owner)
    else:
        error = Unauthenticated if name == "anon" else Forbidden
        with pytest.raises(error):
            require(ACTORS[name], action, department_id=dept, owner_id=owner)


def test_matrix_covers_every_declared_action():
    for info in pkgutil.walk_packages(huiju.__path__, "huiju."):
        if info.name.endswith(".permissions"):
            importlib.import_module(info.name)
    covered = {m[0].name for m in MATRIX}
    assert covered >= set(ACTIONS), f"actions missing from the matrix: {set(ACTIONS) - covered}"


def test_token_scopes_narrow_what_a_role_allows():
    scoped = Actor(user_id=1, username="op", roles=frozenset({(Role.OPERATOR, None)}),
                   scopes=frozenset({"auth.department.view"}))
    assert allowed(scoped, P.DEPARTMENT_VIEW)
    assert not allowed(scoped, P.DEPARTMENT_CREATE)
    wildcard = Actor(user_id=1, username="op", roles=frozenset({(Role.OPERATOR, None)}), scopes=frozenset({"auth.*"}))
    assert allowed(wildcard, P.DEPARTMENT_CREATE)
    assert not allowed(wildcard, S.AUDIT_VIEW)


def test_system_actor_may_do_everything():
    assert all(allowed(Actor.system(), a) for a in ACTIONS.values())


def test_visible_filters_in_the_query(storage, people, backend):
    with storage.uow() as uow:
        seen = {u.username for u in uow.session.scalars(select(User).where(visible(people["ga_steward"], P.USER_VIEW, User)))}
        assert seen == {"ga_steward", "ga_user"}
        assert len(uow.session.scalars(select(User).where(visible(people["op"], P.USER_VIEW, User))).all()) == 6
        assert uow.session.scalars(select(User).where(visible(people["ga_user"], P.USER_VIEW, User))).all() == []
        depts = uow.session.scalars(select(Department).where(visible(people["citizen"], P.DEPARTMENT_VIEW, Department)))
        assert {d.code for d in depts} == {"GA", "RS"}


# ---- every public service function checks permission first or is marked public -----------

def _service_modules():
    for info in pkgutil.walk_packages(huiju.__path__, "huiju."):
        if info.name.endswith(".service"):
            yield importlib.import_module(info.name)


def _called_names(fn) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(fn)))):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else "")
    return names


def _calls_require(fn, guarded: frozenset[str] = frozenset()) -> bool:
    """Calls require() itself, or a service function known to call it (such as dataset_by_key)."""
    called = _called_names(fn)
    return "require" in called or bool(called & guarded)


def test_every_service_function_requires_or_is_public():
    functions = {}
    for module in _service_modules():
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or fn.__module__ != module.__name__:
                continue
            if list(inspect.signature(fn).parameters)[:1] == ["uow"]:  # helpers without a uow do no use case
                functions[f"{module.__name__}.{name}"] = fn
    public = {q for q, fn in functions.items() if getattr(fn, "__huiju_public__", False)}
    guarded: set[str] = set()
    changed = True
    while changed:
        changed = False
        for qualname, fn in functions.items():
            short = qualname.rsplit(".", 1)[1]
            if qualname not in public and short not in guarded and _calls_require(fn, frozenset(guarded)):
                guarded.add(short)
                changed = True
    offenders = [q for q in functions if q not in public and q.rsplit(".", 1)[1] not in guarded]
    assert len(functions) >= 10
    assert offenders == [], f"service functions that never call require() and are not @public: {offenders}"


def test_the_coverage_check_catches_a_missing_require():
    def create_thing(uow, actor):
        uow.add(object())

    def guarded(uow, actor):
        require(actor, P.DEPARTMENT_CREATE)

    def delegating(uow, actor):
        return guarded(uow, actor)

    assert not _calls_require(create_thing)
    assert _calls_require(guarded)
    assert not _calls_require(delegating)
    assert _calls_require(delegating, frozenset({"guarded"}))


def test_service_functions_refuse_wrong_department(storage, people):
    with storage.uow() as uow, pytest.raises(Forbidden):
        service.create_user(uow, people["ga_steward"], username="intruder", display_name="x",
                            password="long-enough-1", role=Role.DEPT_USER, department_code="RS")
    with storage.uow() as uow:
        created = service.create_user(uow, people["ga_steward"], username="newbie", display_name="新人",
                                      password="long-enough-1", role=Role.DEPT_USER, department_code="GA")
        assert created.id
