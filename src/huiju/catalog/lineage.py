"""The lineage of an entry as a small layered graph: sources → versions → base libraries / derived → share/open.

Built from the ``lineage`` rows that every published version leaves (ingest inputs with their SM3,
derived versions naming the dataset versions they merged and which elements each gave, column level),
and laid out in columns for a server-rendered SVG on the entry page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

COLUMNS = ("source", "version", "derived", "egress")
NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 190, 44, 70, 16, 10


@dataclass
class Node:
    id: str
    column: str
    label: str
    detail: str = ""
    href: str | None = None
    x: int = 0
    y: int = 0


@dataclass
class Edge:
    source: str
    target: str
    label: str = ""


@dataclass
class LineageGraph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    width: int = 0
    height: int = 0

    def add(self, node: Node) -> Node:
        return self.nodes.setdefault(node.id, node)

    def link(self, source: str, target: str, label: str = "") -> None:
        if not any(e.source == source and e.target == target for e in self.edges):
            self.edges.append(Edge(source, target, label))

    def layout(self) -> LineageGraph:
        """Place nodes in their column, top to bottom, and size the drawing."""
        rows = 0
        for col, name in enumerate(COLUMNS):
            members = [n for n in self.nodes.values() if n.column == name]
            for i, node in enumerate(members):
                node.x = PAD + col * (NODE_W + GAP_X)
                node.y = PAD + i * (NODE_H + GAP_Y)
            rows = max(rows, len(members))
        self.width = PAD * 2 + len(COLUMNS) * NODE_W + (len(COLUMNS) - 1) * GAP_X
        self.height = PAD * 2 + max(rows, 1) * (NODE_H + GAP_Y)
        return self

    def segments(self) -> Iterable[tuple[Edge, int, int, int, int]]:
        """Each edge with its start (right of source) and end (left of target) points."""
        for e in self.edges:
            a, b = self.nodes.get(e.source), self.nodes.get(e.target)
            if a is not None and b is not None:
                yield e, a.x + NODE_W, a.y + NODE_H // 2, b.x, b.y + NODE_H // 2


EgressContributor = Callable[[Any, Any, int], list[tuple[str, str]]]
EGRESS_CONTRIBUTORS: list[EgressContributor] = []


def contribute_egress(fn: EgressContributor) -> EgressContributor:
    """Register a context above the catalog (share, open data) that names where an entry's data went."""
    EGRESS_CONTRIBUTORS.append(fn)
    return fn


def build(mounted: list[tuple[Any, list[Any]]], lineages: dict[int, Any], derived: list[tuple[Any, Any, Any]],
          egress: list[tuple[str, str]]) -> LineageGraph:
    """``mounted``: (dataset, versions); ``lineages``: version id → its lineage row; ``derived``: (lineage row,
    derived dataset, its version) whose inputs may name the mounted datasets; ``egress``: (label, detail)."""
    g = LineageGraph()
    version_nodes: dict[tuple[str, int], str] = {}
    for ds, versions in mounted:
        for v in versions[:6]:
            vid = f"v{v.id}"
            version_nodes[(ds.key, v.number)] = vid
            g.add(Node(vid, "version", f"{ds.name} v{v.number}", f"{v.row_count:,}", href=f"/datasets/{ds.key}"))
            lin = lineages.get(v.id)
            for inp in (lin.inputs if lin is not None else []) or []:
                if "name" in inp:
                    sid = f"s:{inp.get('sm3') or inp['name']}"
                    g.add(Node(sid, "source", str(inp["name"]), (inp.get("sm3") or "")[:12]))
                    g.link(sid, vid, lin.kind)
    # derived versions (base libraries and others), following derivations of derivations
    frontier = set(version_nodes)
    for _round in range(3):
        grown = False
        for lin, ds, version in derived:
            names = {(i.get("dataset"), i.get("version")) for i in lin.inputs or [] if isinstance(i, dict)}
            hits = names & frontier
            if not hits:
                continue
            did = f"v{version.id}"
            if did not in g.nodes:
                g.add(Node(did, "derived", f"{ds.name} v{version.number}", f"{version.row_count:,}",
                           href=f"/datasets/{ds.key}"))
                grown = True
            version_nodes[(ds.key, version.number)] = did
            for inp in lin.inputs or []:
                key = (inp.get("dataset"), inp.get("version"))
                if key in hits:
                    columns = "、".join(list((inp.get("elements") or {}).keys())[:4])
                    g.link(version_nodes[key], did, columns)
        frontier = set(version_nodes)
        if not grown:
            break
    last = [n.id for n in g.nodes.values() if n.column in ("version", "derived")]
    for i, (label, detail) in enumerate(egress):
        eid = f"e{i}"
        g.add(Node(eid, "egress", label, detail))
        for nid in last[:1] or []:
            g.link(nid, eid)
    return g.layout()
