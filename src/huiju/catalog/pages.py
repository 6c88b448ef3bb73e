"""The catalog's pages and its RDF documents (DCAT-AP 3: /catalog.ttl, /catalog.jsonld, per entry)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from huiju.catalog import service
from huiju.web.deps import ActorDep, UowDep

router = APIRouter(include_in_schema=False)

MEDIA = {"ttl": "text/turtle; charset=utf-8", "jsonld": "application/ld+json"}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/catalog.{fmt}")
def catalog_rdf(request: Request, fmt: str, uow: UowDep, actor: ActorDep) -> Response:
    if fmt not in MEDIA:
        return Response(status_code=404)
    return Response(service.catalog_rdf(uow, actor, base_url=_base(request), fmt=fmt), media_type=MEDIA[fmt])


@router.get("/catalog/entries/{entry_id}.{fmt}")
def entry_rdf(request: Request, entry_id: int, fmt: str, uow: UowDep, actor: ActorDep) -> Response:
    if fmt not in MEDIA:
        return Response(status_code=404)
    return Response(service.catalog_rdf(uow, actor, base_url=_base(request), fmt=fmt, entry_id=entry_id),
                    media_type=MEDIA[fmt])
