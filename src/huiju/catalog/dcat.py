"""DCAT-AP 3 RDF of the catalog (Turtle, JSON-LD) and the way back from RDF to entry fields, via rdflib.

Standard terms carry what DCAT-AP knows (title, description, publisher, theme, frequency, access rights,
issued/modified, identifier, distribution format); the 编制指南 metadata DCAT has no term for (share
type, condition and basis, share mode, open class, data level, data items) use the ``hj:`` vocabulary
below, so a huiju node harvesting another loses nothing, and any DCAT tool still reads the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD

from huiju.catalog import vocab
from huiju.catalog.models import CatalogEntry

HJ = Namespace("https://huiju.dev/ns/catalog#")
FREQ = Namespace("http://publications.europa.eu/resource/authority/frequency/")
ACCESS = Namespace("http://publications.europa.eu/resource/authority/access-right/")

FREQUENCIES = {"realtime": FREQ.UPDATE_CONT, "daily": FREQ.DAILY, "weekly": FREQ.WEEKLY, "monthly": FREQ.MONTHLY,
               "quarterly": FREQ.QUARTERLY, "half_yearly": FREQ.BIANNUAL, "yearly": FREQ.ANNUAL,
               "irregular": FREQ.IRREG}
ACCESS_RIGHTS = {"unconditional": ACCESS.PUBLIC, "conditional": ACCESS.RESTRICTED, "closed": ACCESS.NON_PUBLIC}
FORMAT_KINDS_BY_EXTENSION = {
    "csv": "spreadsheet", "xls": "spreadsheet", "xlsx": "spreadsheet", "et": "spreadsheet",
    "json": "self_describing", "xml": "self_describing", "rdf": "self_describing", "geojson": "self_describing",
    "pdf": "file", "doc": "file", "docx": "file", "ofd": "file", "txt": "file", "html": "file", "wps": "file",
    "jpg": "image", "png": "image", "gif": "image", "shp": "other", "api": "database",
}


def _zh(text: str) -> Literal:
    return Literal(text, lang="zh")


def _label_zh(choices: dict[str, str], code: str) -> str:
    from huiju.i18n import translations

    return translations("zh_CN").gettext(choices[code]) if code in choices else code


def entry_uri(base_url: str, entry: CatalogEntry) -> URIRef:
    return URIRef(f"{base_url.rstrip('/')}/catalog/entries/{entry.id}")


def graph_for(entries: Iterable[CatalogEntry], base_url: str, *, title: str, whole_catalog: bool = True) -> Graph:
    """The catalog (or one entry) as a DCAT-AP 3 graph."""
    g = Graph()
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("skos", SKOS), ("hj", HJ)):
        g.bind(prefix, ns)
    base = base_url.rstrip("/")
    catalog = URIRef(f"{base}/catalog")
    if whole_catalog:
        g.add((catalog, RDF.type, DCAT.Catalog))
        g.add((catalog, DCTERMS.title, _zh(title)))
        g.add((catalog, DCTERMS.description, _zh("政务信息资源目录")))
        g.add((catalog, FOAF.homepage, URIRef(f"{base}/catalog")))
    for entry in entries:
        node = entry_uri(base, entry)
        if whole_catalog:
            g.add((catalog, DCAT.dataset, node))
        _add_entry(g, node, entry, base)
    return g


def _add_entry(g: Graph, node: URIRef, e: CatalogEntry, base: str) -> None:
    g.add((node, RDF.type, DCAT.Dataset))
    g.add((node, DCTERMS.identifier, Literal(e.code)))
    g.add((node, DCTERMS.title, _zh(e.name)))
    g.add((node, DCTERMS.description, _zh(e.abstract)))
    publisher = URIRef(f"{base}/catalog/departments/{e.department_id}")
    g.add((node, DCTERMS.publisher, publisher))
    g.add((publisher, RDF.type, FOAF.Agent))
    g.add((publisher, FOAF.name, _zh(e.provider_name)))
    g.add((publisher, DCTERMS.identifier, Literal(e.provider_code)))
    for scheme, code, choices in (("classification", e.classification, vocab.CLASSIFICATIONS),
                                  (f"{e.classification}", e.item, vocab.item_choices(e.classification)),
                                  ("theme", e.theme, vocab.THEMES)):
        if not code:
            continue
        concept = URIRef(f"{base}/catalog/vocab/{scheme}/{code}")
        g.add((node, DCAT.theme, concept))
        g.add((concept, RDF.type, SKOS.Concept))
        g.add((concept, SKOS.prefLabel, _zh(_label_zh(choices, code))))
        g.add((concept, SKOS.notation, Literal(code)))
    g.add((node, DCTERMS.accrualPeriodicity, FREQUENCIES[e.update_cycle]))
    g.add((node, DCTERMS.accessRights, ACCESS_RIGHTS[e.open_class]))
    if e.publish_date:
        g.add((node, DCTERMS.issued, Literal(e.publish_date, datatype=XSD.date)))
    g.add((node, DCTERMS.modified, Literal(e.updated_at.replace(microsecond=0), datatype=XSD.dateTime)))
    for code in e.related_codes or []:
        g.add((node, DCTERMS.relation, Literal(code)))
    for word in (e.name, _label_zh(vocab.SHARE_TYPES, e.share_type)):
        g.add((node, DCAT.keyword, _zh(word)))
    dist = URIRef(f"{node}/distribution")
    g.add((node, DCAT.distribution, dist))
    g.add((dist, RDF.type, DCAT.Distribution))
    g.add((dist, DCTERMS.format, Literal(e.format_type)))
    g.add((dist, DCAT.accessURL, node))
    g.add((dist, DCTERMS.title, _zh(_label_zh(vocab.FORMAT_KINDS, e.format_kind))))
    # the 编制指南 metadata DCAT has no terms for
    for prop, value in (("classification", e.classification), ("item", e.item), ("directory", e.directory),
                        ("formatKind", e.format_kind), ("shareType", e.share_type),
                        ("shareCondition", e.share_condition), ("shareBasis", e.share_basis),
                        ("shareModeKind", e.share_mode_kind), ("shareModeType", e.share_mode_type),
                        ("openClass", e.open_class), ("openCondition", e.open_condition),
                        ("updateCycle", e.update_cycle), ("dataLevel", e.data_level), ("theme", e.theme)):
        if value:
            g.add((node, HJ[prop], Literal(value)))
    for item in e.items:
        bn = BNode()
        g.add((node, HJ.dataItem, bn))
        g.add((bn, HJ.position, Literal(item.position)))
        g.add((bn, HJ.name, _zh(item.name)))
        g.add((bn, HJ.typeCode, Literal(item.type_code)))
        if item.length:
            g.add((bn, HJ.length, Literal(item.length)))
        g.add((bn, HJ.sensitivity, Literal(item.sensitivity)))
        g.add((bn, HJ.shareType, Literal(item.share_type)))
        if item.is_key:
            g.add((bn, HJ.isKey, Literal(True)))


def serialize(g: Graph, fmt: str) -> str:
    """Turtle (``ttl``) or JSON-LD (``jsonld``) text."""
    if fmt == "jsonld":
        return g.serialize(format="json-ld", auto_compact=True)
    return g.serialize(format="turtle")


# ---- RDF → entry fields (harvesting) ---------------------------------------------------------

def _one(g: Graph, s: Any, p: URIRef) -> str | None:
    """One value, the Chinese literal preferred over others."""
    values = list(g.objects(s, p))
    if not values:
        return None
    values.sort(key=lambda v: (getattr(v, "language", None) not in ("zh", "zh-cn", "zh-CN"), str(v)))
    return str(values[0])


def datasets_in(g: Graph) -> list[tuple[str, URIRef]]:
    """(identifier, node) of every dcat:Dataset; the identifier is dct:identifier or the node's URI."""
    out = []
    for node in g.subjects(RDF.type, DCAT.Dataset):
        out.append((_one(g, node, DCTERMS.identifier) or str(node), node))
    return sorted(out, key=lambda pair: pair[0])


def describe(g: Graph, node: URIRef) -> str:
    """The Turtle of one dataset's description (its node, distribution, items and publisher), kept as the raw record."""
    sub = Graph()
    sub.namespace_manager = g.namespace_manager
    seen: set[Any] = set()
    todo: list[Any] = [node]
    while todo:
        s = todo.pop()
        if s in seen:
            continue
        seen.add(s)
        for p, o in g.predicate_objects(s):
            sub.add((s, p, o))
            if isinstance(o, BNode) or (isinstance(o, URIRef) and (p in (DCAT.distribution, DCTERMS.publisher))):
                todo.append(o)
    return sub.serialize(format="turtle")


def fields_from(g: Graph, node: URIRef) -> dict[str, Any]:
    """Entry fields from a dataset description: hj: terms when a huiju node wrote it, DCAT-AP mappings otherwise."""
    hj = {p: _one(g, node, HJ[p]) for p in ("classification", "item", "directory", "formatKind", "shareType",
                                            "shareCondition", "shareBasis", "shareModeKind", "shareModeType",
                                            "openClass", "openCondition", "updateCycle", "dataLevel", "theme")}
    formats = [str(f) for d in g.objects(node, DCAT.distribution) for f in g.objects(d, DCTERMS.format)]
    format_type = (formats[0].rsplit("/", 1)[-1] if formats else "") or "other"
    access = next(iter(g.objects(node, DCTERMS.accessRights)), None)
    open_class = hj["openClass"] or {v: k for k, v in ACCESS_RIGHTS.items()}.get(access, "unconditional")
    frequency = next(iter(g.objects(node, DCTERMS.accrualPeriodicity)), None)
    cycle = hj["updateCycle"] or {v: k for k, v in FREQUENCIES.items()}.get(frequency, "irregular")
    kind = hj["formatKind"] or FORMAT_KINDS_BY_EXTENSION.get(format_type.lower(), "other")
    publisher = next(iter(g.objects(node, DCTERMS.publisher)), None)
    issued = _one(g, node, DCTERMS.issued)
    items = []
    for bn in g.objects(node, HJ.dataItem):
        items.append({"position": int(_one(g, bn, HJ.position) or 0), "name": _one(g, bn, HJ.name),
                      "type_code": _one(g, bn, HJ.typeCode), "length": _one(g, bn, HJ.length),
                      "sensitivity": _one(g, bn, HJ.sensitivity), "share_type": _one(g, bn, HJ.shareType),
                      "is_key": _one(g, bn, HJ.isKey) == "true"})
    items.sort(key=lambda i: i["position"])
    return {
        "name": _one(g, node, DCTERMS.title), "abstract": _one(g, node, DCTERMS.description),
        "classification": hj["classification"] or "department", "item": hj["item"] or "provincial",
        "directory": hj["directory"], "theme": hj["theme"], "format_kind": kind, "format_type": format_type[:32],
        "share_type": hj["shareType"] or "unconditional", "share_condition": hj["shareCondition"],
        "share_basis": hj["shareBasis"], "share_mode_kind": hj["shareModeKind"] or "platform",
        "share_mode_type": hj["shareModeType"] or ("file" if kind == "file" else "api"),
        "open_class": open_class, "open_condition": hj["openCondition"] or _one(g, node, DCTERMS.rights),
        "update_cycle": cycle, "data_level": hj["dataLevel"] or "general_1",
        "related_codes": sorted(str(r) for r in g.objects(node, DCTERMS.relation)),
        "publish_date": issued[:10] if issued else None, "items": items,
        "provider_name": _one(g, publisher, FOAF.name) if publisher is not None else None,
        "provider_code": _one(g, publisher, DCTERMS.identifier) if publisher is not None else None,
    }
