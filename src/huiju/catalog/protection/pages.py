"""Operator and steward pages: a dataset's labels (confirm, change, masking policy, exceptions, re-encryption)
and what each data level contains."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from huiju.catalog.protection import service
from huiju.security.classification import CATEGORIES, LEVEL_ORDER
from huiju.security.masking import MASKS
from huiju.web.deps import ActorDep, CsrfDep, UowDep
from huiju.web.rendering import render, require_login

router = APIRouter(include_in_schema=False)


def _back(key: str) -> RedirectResponse:
    return RedirectResponse(f"/protection/datasets/{key}", status_code=303)


@router.get("/protection/levels", response_class=HTMLResponse)
def levels(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    return render(request, actor, "security/levels.html", levels=service.levels_overview(uow, actor))


@router.get("/protection/datasets/{key}", response_class=HTMLResponse)
def labels(request: Request, key: str, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    ds, label = service.dataset_labels(uow, actor, key)
    columns = [f["name"] for f in (ds.table_schema or {}).get("fields", [])]
    columns += [c for c in sorted(ds.labels or {}) if c not in columns]
    return render(request, actor, "security/labels.html", ds=ds, label=label, columns=columns,
                  levels=list(reversed(LEVEL_ORDER)), masks=sorted(MASKS), categories=CATEGORIES)


@router.post("/protection/datasets/{key}/columns/{column}", dependencies=[CsrfDep])
def label_column(key: str, column: str, uow: UowDep, actor: ActorDep, level: Annotated[str, Form()],
                 sensitive_pi: Annotated[bool, Form()] = False, mask: Annotated[str, Form()] = "",
                 categories: Annotated[list[str] | None, Form()] = None) -> Response:
    require_login(actor)
    service.label_column(uow, actor, key, column, level=level, sensitive_pi=sensitive_pi,
                         categories=categories or [], mask=mask or None)
    return _back(key)


@router.post("/protection/datasets/{key}/confirm", dependencies=[CsrfDep])
def confirm(key: str, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    service.confirm_labels(uow, actor, key)
    return _back(key)


@router.post("/protection/datasets/{key}/exception", dependencies=[CsrfDep])
def exception(key: str, uow: UowDep, actor: ActorDep, reason: Annotated[str, Form()],
              level: Annotated[str, Form()] = "", column: Annotated[str, Form()] = "") -> Response:
    require_login(actor)
    service.record_exception(uow, actor, key, level=level or None, reason=reason, column=column or None)
    return _back(key)


@router.post("/protection/datasets/{key}/reencrypt", dependencies=[CsrfDep])
def reencrypt(key: str, uow: UowDep, actor: ActorDep, rotate: Annotated[bool, Form()] = False) -> Response:
    require_login(actor)
    service.reencrypt_dataset(uow, actor, key, rotate=rotate)
    return _back(key)
