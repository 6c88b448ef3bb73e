"""HTML pages of the public portal under ``/open``: registration, OpenID login, the account with its
real-name level and keys, conditional-data applications, and interaction. Thin callers of service.py."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from typing import Annotated
from urllib.parse import quote, urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from huiju.auth import service as auth_service
from huiju.auth.authz import allowed
from huiju.errors import HuijuError, Invalid, NotFound, Unauthenticated
from huiju.i18n import N_
from huiju.opendata import service as open_service
from huiju.opendata.portal import browse, exports, service
from huiju.opendata.portal import permissions as P
from huiju.opendata.portal.api import RateLimitDep, RealNameDep, oidc_provider
from huiju.workdays import CHINA
from huiju.opendata.portal.entries import EntryRef
from huiju.opendata.portal_models import APPLICATION_LABELS, FEEDBACK_LABELS, MODERATION_LABELS, REALNAME_LABELS
from huiju.web.deps import SESSION_COOKIE, ActorDep, CsrfDep, UowDep
from huiju.web.rendering import render, require_login

router = APIRouter(prefix="/open", include_in_schema=False)

FACET_NAMES = {"theme": N_("Theme"), "department": N_("Department"), "open_class": N_("Open type"),
               "format_kind": N_("Format"), "update_cycle": N_("Update frequency")}
COMMITMENTS = [N_("I will use the data only for the purpose and scenario stated in this application."),
               N_("I will keep the data secure and will not pass it or the key to anyone else."),
               N_("I will not try to identify any person or organisation from the data.")]
LABELS = {"realname": REALNAME_LABELS, "application": APPLICATION_LABELS, "feedback": FEEDBACK_LABELS,
          "moderation": MODERATION_LABELS}


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so login links cannot redirect elsewhere."""
    if not target:
        return "/open/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/open/"
    return target


def _page(request: Request, actor, template: str, status_code: int = 200, **context) -> HTMLResponse:
    return render(request, actor, template, status_code=status_code, labels=LABELS, china=CHINA, **context)


def _with_session(request: Request, target: str, login: auth_service.Login) -> Response:
    response = RedirectResponse(target, status_code=303)
    settings = request.app.state.storage.settings
    response.set_cookie(SESSION_COOKIE, login.cookie, httponly=True, samesite="lax",
                        secure=settings.cookie_secure or request.url.scheme == "https",
                        max_age=settings.session_hours * 3600)
    return response


# ---- registration and login --------------------------------------------------------------

@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request, actor: ActorDep, next: str = "/open/") -> Response:
    return _page(request, actor, "portal/register.html", next=_safe_next(next), error=None, form={})


@router.post("/register", response_class=HTMLResponse, dependencies=[CsrfDep])
def register_submit(request: Request, uow: UowDep, actor: ActorDep, username: Annotated[str, Form()],
                    password: Annotated[str, Form()], display_name: Annotated[str, Form()] = "",
                    email: Annotated[str, Form()] = "", organization: Annotated[str, Form()] = "",
                    next: Annotated[str, Form()] = "/open/") -> Response:
    form = {"username": username, "display_name": display_name, "email": email, "organization": organization}
    try:
        service.register_account(uow, username=username, display_name=display_name, password=password,
                                 email=email, organization=organization)
        login = auth_service.login(uow, username=username, password=password)
    except HuijuError as exc:
        return _page(request, actor, "portal/register.html", status_code=exc.status, next=_safe_next(next),
                     error=exc.localized(), form=form)
    return _with_session(request, _safe_next(next), login)


@router.get("/login/oidc")
def oidc_start(request: Request, uow: UowDep, next: str = "/open/") -> Response:
    url = service.start_oidc_login(uow, oidc_provider(request), redirect_uri=str(request.url_for("oidc_callback")),
                                   next_path=_safe_next(next))
    return RedirectResponse(url, status_code=303)


@router.get("/oidc/callback", name="oidc_callback")
def oidc_callback(request: Request, uow: UowDep, state: str = "", code: str = "", error: str = "") -> Response:
    if error or not code:
        raise Unauthenticated("The identity provider refused the login")
    result = service.finish_oidc_login(uow, oidc_provider(request), state=state, code=code,
                                       redirect_uri=str(request.url_for("oidc_callback")))
    return _with_session(request, _safe_next(result.next_path), result.login)


# ---- the account: real-name level and API keys -------------------------------------------

def _account_page(request: Request, uow, actor, *, issued=None, error=None, status_code=200) -> Response:
    return _page(request, actor, "portal/account.html", status_code=status_code,
                 account=service.account_of(uow, actor), keys=service.list_keys(uow, actor), issued=issued,
                 error=error, settings=request.app.state.storage.settings,
                 applications=service.list_my_applications(uow, actor))


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    return _account_page(request, uow, actor)


@router.post("/account/identity", response_class=HTMLResponse, dependencies=[CsrfDep])
def account_identity(request: Request, uow: UowDep, actor: ActorDep, provider: RealNameDep,
                     name: Annotated[str, Form()], id_number: Annotated[str, Form()]) -> Response:
    require_login(actor)
    try:
        service.verify_identity(uow, actor, name=name, id_number=id_number, provider=provider)
    except HuijuError as exc:
        uow.rollback()
        return _account_page(request, uow, actor, error=exc.localized(), status_code=exc.status)
    return RedirectResponse("/open/account", status_code=303)


@router.post("/account/phone", response_class=HTMLResponse, dependencies=[CsrfDep])
def account_phone(request: Request, uow: UowDep, actor: ActorDep, provider: RealNameDep,
                  phone: Annotated[str, Form()], code: Annotated[str, Form()]) -> Response:
    require_login(actor)
    try:
        service.verify_phone(uow, actor, phone=phone, code=code, provider=provider)
    except HuijuError as exc:
        uow.rollback()
        return _account_page(request, uow, actor, error=exc.localized(), status_code=exc.status)
    return RedirectResponse("/open/account", status_code=303)


@router.post("/account/keys", response_class=HTMLResponse, dependencies=[CsrfDep])
def account_key(request: Request, uow: UowDep, actor: ActorDep, name: Annotated[str, Form()] = "") -> Response:
    require_login(actor)
    issued = service.create_key(uow, actor, name=name)
    return _account_page(request, uow, actor, issued=issued.plaintext)


@router.post("/account/keys/{key_id}/revoke", dependencies=[CsrfDep])
def account_key_revoke(key_id: int, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    service.revoke_key(uow, actor, key_id)
    return RedirectResponse("/open/account", status_code=303)


# ---- public pages: home, datasets, dataset, downloads, departments, open list and plan --------

def _record(uow, view: browse.DatasetView, kind: str) -> None:
    service.record_usage(uow, EntryRef(view.dataset.entry_id, view.dataset.id, view.dataset.name,
                                       view.dataset.title, view.dataset.department_id, view.dataset.open_class), kind)


def _needs_grant(uow, actor, view: browse.DatasetView) -> None:
    """Conditional data is shown and downloaded only under the visitor's active agreement."""
    if view.dataset.open_class == "conditional":
        service.active_grant(uow, actor, view.dataset.entry_id)


@router.get("/", response_class=HTMLResponse)
def portal_home(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    totals = service.usage_totals(uow)
    popular_ids = sorted(totals.by_entry, key=lambda e: -(totals.by_entry[e]["view"] + totals.by_entry[e]["download"]))
    published = {d.entry_id: d for d in open_service.published_datasets(uow)}
    popular = [published[e] for e in popular_ids if e in published][:6]
    return _page(request, actor, "portal/home.html", counts=browse.home_counts(uow), totals=totals.totals,
                 recent=browse.recent_datasets(uow), popular=popular,
                 apps=service.list_apps(uow)[:3])


def _facet_filters(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "") for k in browse.PORTAL_FACETS if request.query_params.get(k)}


@router.get("/datasets", response_class=HTMLResponse)
def datasets(request: Request, uow: UowDep, actor: ActorDep, q: str = "", sort: str = "relevance",
             page: int = 1) -> Response:
    found = browse.search_open(uow, q=q, filters=_facet_filters(request), sort=sort, page=page)
    return _page(request, actor, "portal/datasets.html", found=found, q=q, sort=sort,
                 facet_names=FACET_NAMES, query=dict(request.query_params))


@router.get("/datasets/{name}", response_class=HTMLResponse)
def dataset(request: Request, uow: UowDep, actor: ActorDep, name: str) -> Response:
    view = browse.dataset_view(uow, name)
    granted, preview, chart_rows, regions = True, None, [], None
    try:
        _needs_grant(uow, actor, view)
    except HuijuError:
        granted = False
    if granted:
        preview = browse.preview_rows(uow, view, filters={}, sort=None)
        chart_rows = preview.rows
        regions = browse.region_chart(uow, actor, view)
    _record(uow, view, "view")
    comments, ratings = service.entry_comments(uow, view.dataset.entry_id)
    return _page(request, actor, "portal/dataset.html", view=view, granted=granted, preview=preview,
                 chart_rows=chart_rows, regions=regions, comments=comments, ratings=ratings,
                 apps=service.list_apps(uow, entry_id=view.dataset.entry_id),
                 base_url=str(request.base_url).rstrip("/"))


@router.get("/datasets/{name}/preview", response_class=HTMLResponse)
def dataset_preview(request: Request, uow: UowDep, actor: ActorDep, name: str, sort: str = "",
                    dir: str = "asc", limit: int = browse.PREVIEW_ROWS) -> Response:  # noqa: A002
    """The preview table alone (htmx swaps it in when a visitor sorts or filters; ``dir`` is asc or desc)."""
    if dir not in ("asc", "desc"):
        raise Invalid("The sort direction must be asc or desc")
    view = browse.dataset_view(uow, name)
    _needs_grant(uow, actor, view)
    filters = {k[2:]: v for k, v in request.query_params.items() if k.startswith("f.") and v}
    preview = browse.preview_rows(uow, view, filters=filters, sort=sort or None, descending=dir == "desc",
                                  limit=limit)
    return _page(request, actor, "portal/_preview.html", view=view, preview=preview)


@router.get("/datasets/{name}/download.{fmt}", dependencies=[RateLimitDep])
def download(request: Request, uow: UowDep, actor: ActorDep, name: str, fmt: str) -> Response:
    if fmt not in exports.FORMATS:
        raise NotFound("Format %(fmt)s is not offered; use csv, xlsx or json", fmt=fmt)
    view = browse.dataset_view(uow, name)
    if view.version is None:
        raise NotFound("Open dataset %(id)s has no open version yet", id=name)
    _needs_grant(uow, actor, view)
    etag = f'"{view.version.uid}.{fmt}"'
    conditional = view.dataset.open_class == "conditional"
    cache = "private, no-store" if conditional else "public, max-age=3600"
    if not conditional and request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": cache})
    resource = open_service.served_resource(uow, view.version.uid, actor=actor)
    stream = open_service.open_rows(uow, resource, purpose=f"开放数据下载 ({fmt})")
    fields = [f for f in stream.fields if not f.startswith("_")]
    _record(uow, view, "download")
    writer = {"csv": exports.csv_chunks, "json": exports.json_chunks, "xlsx": exports.xlsx_chunks}[fmt]

    def body():
        with stream:
            yield from writer(fields, stream)

    filename = f"{view.dataset.name}-v{view.version.number}.{fmt}"
    headers = {"Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(view.dataset.title)}.{fmt}",
               "ETag": etag, "Cache-Control": cache,
               "Last-Modified": format_datetime(view.version.created_at, usegmt=True)}
    return StreamingResponse(body(), media_type=exports.FORMATS[fmt], headers=headers)


@router.get("/departments/{code}", response_class=HTMLResponse)
def department(request: Request, uow: UowDep, actor: ActorDep, code: str) -> Response:
    dept = auth_service.department_by_code(uow, code)
    found = browse.search_open(uow, filters={"department": str(dept.id)}, sort="name", per_page=100)
    stats = service.usage_totals(uow).by_department.get(dept.id, {"view": 0, "download": 0, "api": 0})
    return _page(request, actor, "portal/department.html", dept=dept, found=found, stats=stats)


@router.get("/list", response_class=HTMLResponse)
def open_list(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    """开放清单: every published open dataset with its class, condition, format and update cycle."""
    found = browse.search_open(uow, sort="name", per_page=100)
    return _page(request, actor, "portal/list.html", found=found, plan=browse.open_plan(uow))


@router.get("/plan", response_class=HTMLResponse)
def open_plan(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    """年度开放计划: openable published catalog entries not opened yet, by department."""
    return _page(request, actor, "portal/plan.html", plan=browse.open_plan(uow), year=datetime.now(CHINA).year)


@router.get("/stats", response_class=HTMLResponse)
def stats(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    totals = service.usage_totals(uow)
    published = {d.entry_id: d for d in open_service.published_datasets(uow)}
    departments = {d.id: d for d in open_service.public_departments(uow)}
    return _page(request, actor, "portal/stats.html", totals=totals, published=published, departments=departments)


# ---- interaction: data requests, error reports, comments, showcase ----------------------------

@router.get("/requests", response_class=HTMLResponse)
def requests_page(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    return _page(request, actor, "portal/requests.html", items=service.list_data_requests(uow),
                 departments=open_service.public_departments(uow), error=None)


@router.post("/requests", response_class=HTMLResponse, dependencies=[CsrfDep])
def requests_submit(request: Request, uow: UowDep, actor: ActorDep, title: Annotated[str, Form()],
                    description: Annotated[str, Form()], department_code: Annotated[str, Form()] = "") -> Response:
    require_login(actor)
    service.request_data(uow, actor, title=title, description=description, department_code=department_code or None)
    return RedirectResponse("/open/requests", status_code=303)


@router.post("/requests/{request_id}/reply", dependencies=[CsrfDep])
def requests_reply(request_id: int, uow: UowDep, actor: ActorDep, reply: Annotated[str, Form()]) -> Response:
    require_login(actor)
    service.reply_data_request(uow, actor, request_id, reply=reply)
    return RedirectResponse("/open/review", status_code=303)


@router.post("/datasets/{name}/error-report", dependencies=[CsrfDep])
def error_report(name: str, uow: UowDep, actor: ActorDep, description: Annotated[str, Form()],
                 location: Annotated[str, Form()] = "") -> Response:
    require_login(actor)
    od = open_service.published_dataset(uow, name)
    service.report_error(uow, actor, entry_id=od.entry_id, description=description, location=location)
    return RedirectResponse(f"/open/datasets/{name}?reported=1#feedback", status_code=303)


@router.post("/error-reports/{report_id}/reply", dependencies=[CsrfDep])
def error_reply(report_id: int, uow: UowDep, actor: ActorDep, reply: Annotated[str, Form()]) -> Response:
    require_login(actor)
    service.reply_error_report(uow, actor, report_id, reply=reply)
    return RedirectResponse("/open/review", status_code=303)


@router.post("/datasets/{name}/comments", dependencies=[CsrfDep])
def comment(name: str, uow: UowDep, actor: ActorDep, body: Annotated[str, Form()] = "",
            rating: Annotated[str, Form()] = "") -> Response:
    require_login(actor)
    od = open_service.published_dataset(uow, name)
    service.post_comment(uow, actor, entry_id=od.entry_id, rating=int(rating) if rating.isdigit() else None,
                         body=body)
    return RedirectResponse(f"/open/datasets/{name}?commented=1#feedback", status_code=303)


@router.post("/comments/{comment_id}/moderation", dependencies=[CsrfDep])
def comment_moderation(comment_id: int, uow: UowDep, actor: ActorDep, approve: Annotated[str, Form()]) -> Response:
    require_login(actor)
    service.moderate_comment(uow, actor, comment_id, approve=approve == "1")
    return RedirectResponse("/open/review", status_code=303)


@router.get("/apps", response_class=HTMLResponse)
def apps_page(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    published = {d.entry_id: d for d in open_service.published_datasets(uow)}
    return _page(request, actor, "portal/apps.html", apps=service.list_apps(uow), published=published)


@router.post("/apps", dependencies=[CsrfDep])
def apps_submit(uow: UowDep, actor: ActorDep, name: Annotated[str, Form()], description: Annotated[str, Form()],
                url: Annotated[str, Form()], datasets: Annotated[list[str], Form()] = []) -> Response:  # noqa: B006
    require_login(actor)
    entry_ids = [open_service.published_dataset(uow, d).entry_id for d in datasets if d]
    service.submit_app(uow, actor, name=name, description=description, url=url, entry_ids=entry_ids)
    return RedirectResponse("/open/apps?submitted=1", status_code=303)


@router.post("/apps/{app_id}/review", dependencies=[CsrfDep])
def apps_review(app_id: int, uow: UowDep, actor: ActorDep, approve: Annotated[str, Form()],
                note: Annotated[str, Form()] = "") -> Response:
    require_login(actor)
    service.review_app(uow, actor, app_id, approve=approve == "1", note=note)
    return RedirectResponse("/open/review", status_code=303)


# ---- conditional open: apply, agreement, review ------------------------------------------------

@router.get("/datasets/{name}/apply", response_class=HTMLResponse)
def apply_page(request: Request, uow: UowDep, actor: ActorDep, name: str) -> Response:
    require_login(actor)
    view = browse.dataset_view(uow, name)
    return _page(request, actor, "portal/apply.html", view=view, account=service.account_of(uow, actor),
                 settings=request.app.state.storage.settings, error=None, commitments=COMMITMENTS)


@router.post("/datasets/{name}/apply", response_class=HTMLResponse, dependencies=[CsrfDep])
def apply_submit(request: Request, uow: UowDep, actor: ActorDep, name: str, purpose: Annotated[str, Form()],
                 scenario: Annotated[str, Form()], months: Annotated[int, Form()] = 12,
                 commitments: Annotated[list[str], Form()] = []) -> Response:  # noqa: B006
    require_login(actor)
    view = browse.dataset_view(uow, name)
    try:
        app = service.submit_application(uow, actor, entry_id=view.dataset.entry_id, purpose=purpose,
                                         scenario=scenario, commitments=commitments, months=months)
    except HuijuError as exc:
        uow.rollback()
        return _page(request, actor, "portal/apply.html", status_code=exc.status, view=view,
                     account=service.account_of(uow, actor), settings=request.app.state.storage.settings,
                     error=exc.localized(), commitments=COMMITMENTS)
    return RedirectResponse(f"/open/applications/{app.id}", status_code=303)


@router.get("/applications/{application_id}", response_class=HTMLResponse)
def application_page(request: Request, uow: UowDep, actor: ActorDep, application_id: int) -> Response:
    require_login(actor)
    app = service.get_application(uow, actor, application_id)
    text, digest = service.application_agreement(uow, actor, application_id)
    return _page(request, actor, "portal/application.html", app=app, agreement=text, digest=digest, issued=None,
                 overdue=service.is_overdue(app), reports=service.list_usage_reports(uow, actor, application_id))


@router.post("/applications/{application_id}/accept", response_class=HTMLResponse, dependencies=[CsrfDep])
def application_accept(request: Request, uow: UowDep, actor: ActorDep, application_id: int,
                       agreement_sm3: Annotated[str, Form()], agree: Annotated[str, Form()] = "") -> Response:
    require_login(actor)
    if agree != "1":
        raise Invalid("Tick the box to accept the agreement")
    accepted = service.accept_agreement(uow, actor, application_id, agreement_sm3=agreement_sm3)
    text, digest = service.application_agreement(uow, actor, application_id)
    return _page(request, actor, "portal/application.html", app=accepted.application, agreement=text, digest=digest,
                 issued=accepted.plaintext, overdue=False, reports=[])


@router.post("/applications/{application_id}/usage", dependencies=[CsrfDep])
def application_usage(application_id: int, uow: UowDep, actor: ActorDep, summary: Annotated[str, Form()],
                      outcome_url: Annotated[str, Form()] = "") -> Response:
    require_login(actor)
    service.report_usage(uow, actor, application_id, summary=summary, outcome_url=outcome_url)
    return RedirectResponse(f"/open/applications/{application_id}", status_code=303)


@router.post("/applications/{application_id}/decision", dependencies=[CsrfDep])
def application_decision(application_id: int, uow: UowDep, actor: ActorDep, approve: Annotated[str, Form()],
                         note: Annotated[str, Form()] = "") -> Response:
    require_login(actor)
    service.decide_application(uow, actor, application_id, approve=approve == "1", note=note)
    return RedirectResponse("/open/review", status_code=303)


@router.post("/applications/{application_id}/revoke", dependencies=[CsrfDep])
def application_revoke(application_id: int, uow: UowDep, actor: ActorDep, reason: Annotated[str, Form()]) -> Response:
    require_login(actor)
    service.revoke_application(uow, actor, application_id, reason=reason)
    return RedirectResponse("/open/review", status_code=303)


@router.get("/review", response_class=HTMLResponse)
def review(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    """The providing department's (and the operator's) desk: applications, error reports, requests, moderation."""
    require_login(actor)
    moderator = allowed(actor, P.MODERATE)
    return _page(request, actor, "portal/review.html",
                 applications=service.list_applications_to_review(uow, actor),
                 errors=service.list_error_reports(uow, actor),
                 requests=service.list_requests_to_answer(uow, actor),
                 comments=service.list_pending_comments(uow, actor) if moderator else [],
                 pending_apps=service.list_pending_apps(uow, actor) if moderator else [],
                 is_overdue=service.is_overdue)
