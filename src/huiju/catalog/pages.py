"""The catalog's pages (home, search, entry, department, form, review queue) and its RDF documents
(DCAT-AP 3: /catalog.ttl, /catalog.jsonld, /catalog/entries/{id}.ttl|.jsonld)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from huiju.auth import service as auth_service
from huiju.auth.authz import allowed
from huiju.catalog import lifecycle, metadata, search, service, vocab
from huiju.catalog.permissions import ENTRY_MANAGE, ENTRY_REVIEW
from huiju.errors import HuijuError
from huiju.i18n import N_
from huiju.web.deps import ActorDep, UowDep, check_csrf
from huiju.web.rendering import render, require_login

router = APIRouter(include_in_schema=False)

MEDIA = {"ttl": "text/turtle; charset=utf-8", "jsonld": "application/ld+json"}
FORM_FIELDS = ("name", "classification", "item", "directory", "theme", "abstract", "format_kind", "format_type",
               "share_type", "share_condition", "share_basis", "share_mode_kind", "share_mode_type", "open_class",
               "open_condition", "update_cycle", "publish_date", "related_codes", "data_level")
FACET_TITLES = {"classification": N_("Classification"), "department": N_("Provider"), "share_type": N_("Share type"),
                "open_class": N_("Open class"), "format_kind": N_("Format category"),
                "update_cycle": N_("Update cycle"), "theme": N_("Theme"), "data_level": N_("Data level")}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/catalog.{fmt}")
def catalog_rdf(request: Request, fmt: str, uow: UowDep, actor: ActorDep) -> Response:
    if fmt not in MEDIA:
        return Response(status_code=404)
    return Response(service.catalog_rdf(uow, actor, base_url=_base(request), fmt=fmt), media_type=MEDIA[fmt])


@router.get("/catalog/entries/{entry_id:int}.{fmt}")
def entry_rdf(request: Request, entry_id: int, fmt: str, uow: UowDep, actor: ActorDep) -> Response:
    if fmt not in MEDIA:
        return Response(status_code=404)
    return Response(service.catalog_rdf(uow, actor, base_url=_base(request), fmt=fmt, entry_id=entry_id),
                    media_type=MEDIA[fmt])


def _page(request: Request, actor: Any, template: str, uow: Any, **context: Any) -> Response:
    """Render with the vocabularies every catalog template shows."""
    profile = uow.settings.catalog_open_labels
    return render(request, actor, template, vocab=vocab, label=vocab.label, facet_titles=FACET_TITLES,
                  open_label=lambda code: vocab.open_label(profile, code), **context)


@router.get("/catalog", response_class=HTMLResponse)
def home(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    return _page(request, actor, "catalog/home.html", uow,
                 by_class=service.count_entries(uow, actor, "classification"),
                 by_department=service.count_entries(uow, actor, "department"),
                 recent=service.search_entries(uow, actor, sort="updated", per_page=10, with_facets=False,
                                               filters={"state": "published"}).entries,
                 reviewing=len(service.review_queue(uow, actor)) if allowed(actor, ENTRY_REVIEW) else None)


@router.get("/catalog/search", response_class=HTMLResponse)
def search_page(request: Request, uow: UowDep, actor: ActorDep, q: str = "", sort: str = "relevance",
                page: int = 1) -> Response:
    require_login(actor)
    filters = {k: v for k, v in request.query_params.items() if k in search.FACETS or k == "state"}
    result = service.search_entries(uow, actor, q=q, filters=filters, sort=sort, page=page)

    def link(**changes: Any) -> str:
        params = {"q": q, "sort": sort, **filters, "page": 1, **changes}
        return "/catalog/search?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})

    return _page(request, actor, "catalog/search.html", uow, result=result, link=link, sorts=search.SORTS)


@router.get("/catalog/entries/{entry_id:int}", response_class=HTMLResponse)
def entry_page(request: Request, entry_id: int, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    entry = service.get_entry(uow, actor, entry_id)
    if entry.state == lifecycle.PUBLISHED:
        service.note_entry_use(uow, actor, entry_id)
    return _page(request, actor, "catalog/entry.html", uow, entry=entry,
                 mounted=service.mounted_datasets(uow, actor, entry_id),
                 freshness=service.entry_freshness(uow, actor, entry_id),
                 history=service.entry_history(uow, actor, entry_id),
                 graph=service.entry_lineage(uow, actor, entry_id),
                 may_manage=allowed(actor, ENTRY_MANAGE, department_id=entry.department_id),
                 may_review=allowed(actor, ENTRY_REVIEW),
                 datasets=[ds for ds in service.list_datasets(uow, actor) if ds.department_id == entry.department_id]
                 if allowed(actor, ENTRY_MANAGE, department_id=entry.department_id) else [])


@router.get("/catalog/departments/{department_id:int}", response_class=HTMLResponse)
def department_page(request: Request, department_id: int, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    department = next((d for d in auth_service.list_departments(uow, actor) if d.id == department_id), None)
    result = service.search_entries(uow, actor, filters={"department": str(department_id)}, sort="name",
                                    per_page=100)
    overdue = [(e, f) for e, f in service.overdue_entries(uow, actor) if e.department_id == department_id]
    return _page(request, actor, "catalog/department.html", uow, department=department, result=result,
                 overdue=overdue)


@router.get("/catalog/review", response_class=HTMLResponse)
def review_page(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    return _page(request, actor, "catalog/review.html", uow, entries=service.review_queue(uow, actor))


def _form_context(actor: Any, uow: Any, values: dict[str, Any], entry: Any = None,
                  error: str | None = None) -> dict[str, Any]:
    departments = [d for d in auth_service.list_departments(uow, actor)
                   if d.id in actor.departments() or actor.primary_role.value == "operator"]
    return {"values": values, "entry": entry, "error": error, "departments": departments}


@router.get("/catalog/new", response_class=HTMLResponse)
def new_form(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    values = {"classification": "department", "item": "provincial", "directory": "001", "share_mode_kind": "platform",
              "share_type": "unconditional", "open_class": "closed", "update_cycle": "monthly",
              "data_level": "general_2", "format_kind": "database", "share_mode_type": "api", "items_text": ""}
    return _page(request, actor, "catalog/form.html", uow, **_form_context(actor, uow, values))


async def _form_values(request: Request) -> dict[str, Any]:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token") or ""))
    values: dict[str, Any] = {k: str(form.get(k) or "") for k in (*FORM_FIELDS, "items_text", "department_code")}
    return values


def _fields(values: dict[str, Any]) -> dict[str, Any]:
    fields = {k: values.get(k) for k in FORM_FIELDS}
    fields["items"] = metadata.items_from_text(values.get("items_text", ""))
    return fields


@router.post("/catalog/new", response_class=HTMLResponse)
async def new_submit(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    values = await _form_values(request)
    try:
        entry = service.register_entry(uow, actor, department_code=values["department_code"], fields=_fields(values))
    except HuijuError as exc:
        return _page(request, actor, "catalog/form.html", uow, status_code=exc.status,
                     **_form_context(actor, uow, values, error=exc.localized()))
    return RedirectResponse(f"/catalog/entries/{entry.id}", status_code=303)


@router.get("/catalog/entries/{entry_id:int}/edit", response_class=HTMLResponse)
def edit_form(request: Request, entry_id: int, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    entry = service.get_entry(uow, actor, entry_id)
    values = {k: getattr(entry, k) for k in FORM_FIELDS}
    values["related_codes"] = "、".join(entry.related_codes or [])
    values["items_text"] = metadata.items_to_text(entry.items)
    return _page(request, actor, "catalog/form.html", uow, **_form_context(actor, uow, values, entry))


@router.post("/catalog/entries/{entry_id:int}/edit", response_class=HTMLResponse)
async def edit_submit(request: Request, entry_id: int, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    values = await _form_values(request)
    try:
        service.update_entry(uow, actor, entry_id, _fields(values))
    except HuijuError as exc:
        uow.rollback()
        entry = service.get_entry(uow, actor, entry_id)
        return _page(request, actor, "catalog/form.html", uow, status_code=exc.status,
                     **_form_context(actor, uow, values, entry, error=exc.localized()))
    return RedirectResponse(f"/catalog/entries/{entry_id}", status_code=303)


@router.post("/catalog/entries/{entry_id:int}/{verb}")
async def transition(request: Request, entry_id: int, verb: str, uow: UowDep, actor: ActorDep) -> Response:
    """The lifecycle buttons of the entry page and the review queue, and mounting a dataset."""
    require_login(actor)
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token") or ""))
    text = str(form.get("comment") or "")
    if verb == "submit":
        service.submit_entry(uow, actor, entry_id, comment=text)
    elif verb == "approve":
        service.approve_entry(uow, actor, entry_id, comment=text)
    elif verb == "reject":
        service.reject_entry(uow, actor, entry_id, reason=text)
    elif verb == "withdraw":
        service.withdraw_entry(uow, actor, entry_id, reason=text)
    elif verb == "mount":
        service.mount_dataset(uow, actor, entry_id, int(str(form.get("dataset_id") or 0)))
    else:
        return Response(status_code=404)
    back = str(form.get("next") or "")
    return RedirectResponse(back if back.startswith("/catalog") else f"/catalog/entries/{entry_id}", status_code=303)
