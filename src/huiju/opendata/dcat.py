"""DCAT-AP of the open-data catalog: the catalog's DCAT (catalog/dcat.py) for opened entries, plus their
open distributions (CSV download, datastore API) so DCAT harvesters get the data, not only the metadata."""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from huiju.catalog import dcat as catalog_dcat
from huiju.opendata.models import OpenDataset, OpenVersion

TITLE = "公共数据开放目录"


def open_catalog(entries: Iterable[object], opened: Iterable[tuple[OpenDataset, OpenVersion | None]],
                 base_url: str, fmt: str) -> str:
    """Turtle or JSON-LD of the opened entries, each with a distribution per open version served."""
    entries = list(entries)
    base = base_url.rstrip("/")
    graph = catalog_dcat.graph_for(entries, base, title=TITLE)
    by_id = {e.id: e for e in entries}
    for od, ov in opened:
        node = catalog_dcat.entry_uri(base, by_id[od.entry_id])
        graph.add((node, DCAT.landingPage, URIRef(f"{base}/opendata/datasets/{od.name}")))
        for tag in od.tags:
            graph.add((node, DCAT.keyword, Literal(tag, lang="zh")))
        if ov is None:
            continue
        dist = URIRef(f"{base}/opendata/resources/{ov.uid}")
        graph.add((node, DCAT.distribution, dist))
        graph.add((dist, RDF.type, DCAT.Distribution))
        graph.add((dist, DCTERMS.identifier, Literal(ov.uid)))
        graph.add((dist, DCTERMS.title, Literal(f"{od.title} v{ov.number}", lang="zh")))
        graph.add((dist, DCAT.downloadURL, URIRef(f"{base}/datastore/dump/{ov.uid}")))
        graph.add((dist, DCAT.accessURL, URIRef(f"{base}/api/3/action/datastore_search?resource_id={ov.uid}")))
        graph.add((dist, DCAT.mediaType, URIRef("https://www.iana.org/assignments/media-types/text/csv")))
        graph.add((dist, DCTERMS.format, Literal("CSV")))
        graph.add((dist, DCTERMS.license, URIRef(f"{base}/opendata/licenses/{od.license_id}")))
        graph.add((dist, DCTERMS.modified, Literal(ov.created_at.replace(microsecond=0))))
    return catalog_dcat.serialize(graph, fmt)
