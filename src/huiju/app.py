"""The FastAPI app factory: storage, templates with gettext, locale and CSRF cookies, routers."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import jinja2
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from huiju import __version__
from huiju.auth.roles import Role
from huiju.config import Settings, get_settings
from huiju.i18n import get_locale, gettext, ngettext
from huiju.opendata.api import tally
from huiju.storage.uow import Storage
from huiju.web import errors
from huiju.web.middleware import LocaleAndCookies

WEB = Path(__file__).parent / "web"


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(WEB / "templates"), extensions=["jinja2.ext.i18n"],
                             autoescape=jinja2.select_autoescape(["html"]))
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    templates = Jinja2Templates(env=env)
    templates.env.globals["version"] = __version__
    templates.env.globals["locale"] = get_locale
    templates.env.globals["role_label"] = lambda code: Role(code).label
    return templates


def freeze_warm_heap() -> int:
    """Load what requests would load lazily, then exempt every object alive from future garbage collections.

    A full collection otherwise rescans the ~250,000 start-up objects (modules, the jieba dictionary) and stalls
    every request in flight for 100-200 ms: that, not the queries, set the open-data API's p99 (bench/opendata).
    Returns how many objects were frozen.
    """
    import duckdb  # noqa: F401  (imported lazily by the lake and the serving index)
    import pyarrow.compute  # noqa: F401

    from huiju.catalog.search import tokenizer

    tokenizer()
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def create_app(settings: Settings | None = None, storage: Storage | None = None) -> FastAPI:
    settings = settings or get_settings()
    storage = storage or Storage.open(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.freeze_heap:
            freeze_warm_heap()
        yield
        tally(app).flush(storage)  # open-data calls counted since the last flush

    app = FastAPI(
        title="huiju 汇聚",
        version=__version__,
        description="Government big-data platform API. Errors share one envelope: "
        '`{"error": {"status", "code", "message", "details"?}}`.',
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.storage = storage
    app.state.settings = settings
    app.state.templates = make_templates()
    errors.install(app)

    app.add_middleware(LocaleAndCookies, settings=settings)

    from huiju.auth.api import router as auth_router
    from huiju.catalog.api import router as catalog_router
    from huiju.catalog.pages import router as catalog_pages
    from huiju.catalog.protection.pages import router as protection_pages
    from huiju.ingest.api import router as ingest_router
    from huiju.ingest.pages import router as ingest_pages
    from huiju.opendata.portal.api import router as portal_api
    from huiju.opendata.portal.pages import router as portal_pages
    from huiju.opendata.api import router as opendata_router
    from huiju.security.api import router as security_router
    from huiju.share.api import router as share_router
    from huiju.share.pages import router as share_pages
    from huiju.web.pages import router as pages_router

    # Routes are matched in order, one by one: the public CKAN API, the busiest by far, goes first (its paths
    # overlap no other router's).
    app.include_router(opendata_router)
    app.include_router(auth_router, prefix="/api/v1")
    app.include_router(security_router, prefix="/api/v1")
    app.include_router(catalog_router, prefix="/api/v1")
    app.include_router(ingest_router, prefix="/api/v1")
    app.include_router(share_router, prefix="/api/v1")
    app.include_router(portal_api, prefix="/api/v1")
    app.include_router(pages_router)
    app.include_router(ingest_pages)
    app.include_router(share_pages)
    app.include_router(protection_pages)
    app.include_router(catalog_pages)
    app.include_router(portal_pages)
    app.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")
    return app
