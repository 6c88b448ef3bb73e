"""`huiju authority add|defaults|list|map|compare|tasks|resolve` and `huiju baselib build person|legal_entity`.

Thin callers of ingest.authority.service, acting as the local system.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from huiju.auth import service as auth_service
from huiju.auth.roles import Actor
from huiju.errors import Conflict, Invalid, NotFound
from huiju.i18n import N_
from huiju.i18n import gettext as _
from huiju.ingest.authority import service
from huiju.ingest.authority.defaults import default_elements
from huiju.ingest.authority.models import STATUS_LABELS, SUBJECT_LABELS, SUBJECTS

CLI_ACTOR = Actor.system("cli")
ROLE_LABELS = {"authority": N_("authoritative source"), "fallback": N_("fallback source")}


def _codes(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        raw, sep, code = pair.partition("=")
        if not sep or not raw.strip() or not code.strip():
            raise Invalid("Write a value code as spelling=code, e.g. 男=1")
        out[raw.strip()] = code.strip()
    return out


def register(app: typer.Typer, storage_for: Callable[[typer.Context], Any], console: Console) -> None:
    authority = typer.Typer(help="一数一源: data elements, their authoritative departments, comparison and "
                                 "correction tasks (纠错).", no_args_is_help=True)
    app.add_typer(authority, name="authority")
    baselib_app = typer.Typer(help="Base libraries (人口库, 法人库) merged from the departments' datasets.",
                              no_args_is_help=True)
    app.add_typer(baselib_app, name="baselib")

    @authority.command("add")
    def add(ctx: typer.Context,
            code: Annotated[str, typer.Argument(help="Element code, e.g. person.name")],
            name: Annotated[str, typer.Argument(help="Element name, e.g. 姓名 (the base-library column)")],
            subject: Annotated[str, typer.Option(help="person | legal_entity")],
            authority_dept: Annotated[str, typer.Option("--authority", help="Code of the authoritative department")],
            value_code: Annotated[list[str] | None, typer.Option(
                help="Fold a spelling to the standard code before comparing, e.g. 男=1; repeatable")] = None) -> None:
        """Register a data element and the department whose value of it is the reference."""
        with storage_for(ctx).uow() as uow:
            element = service.register_element(uow, CLI_ACTOR, code, name, subject, authority_dept,
                                               value_codes=_codes(value_code))
        console.print(_("Data element %(code)s (%(name)s) registered; authority: %(dept)s.")
                      % {"code": element.code, "name": element.name, "dept": authority_dept})

    @authority.command("defaults")
    def defaults(ctx: typer.Context) -> None:
        """Register the demo city's registry (人口 ← GA, 法人 ← SJ); elements already there are kept."""
        added = 0
        for spec in default_elements():
            with storage_for(ctx).uow() as uow:
                try:
                    service.register_element(uow, CLI_ACTOR, spec["code"], spec["name"], spec["subject"],
                                             spec["authority_department_code"], value_codes=spec["value_codes"])
                    added += 1
                except Conflict:
                    continue
                except NotFound as exc:  # a department the city does not have: say so, register the rest
                    console.print(f"[yellow]{exc.localized()}[/yellow]")
        console.print(_("%(n)s data elements registered.") % {"n": added})

    @authority.command("list")
    def list_(ctx: typer.Context) -> None:
        """The registry: each element, its subject and its authoritative department."""
        with storage_for(ctx).uow() as uow:
            depts = {d.id: d.code for d in _departments(uow)}
            table = Table(_("Element"), _("Name"), _("Subject"), _("Authority"), _("Key"))
            for e in service.list_elements(uow, CLI_ACTOR):
                table.add_row(e.code, e.name, _(SUBJECT_LABELS[e.subject]), depts.get(e.authority_department_id, ""),
                              "✓" if e.is_key else "")
        console.print(table)

    @authority.command("map")
    def map_(ctx: typer.Context,
             dataset: Annotated[str, typer.Argument(help="Dataset key")],
             column: Annotated[str, typer.Argument(help="Column of the dataset")],
             element: Annotated[str, typer.Argument(help="Element code, e.g. person.name")]) -> None:
        """Say that COLUMN of DATASET carries ELEMENT (map the subject key column too)."""
        with storage_for(ctx).uow() as uow:
            service.map_column(uow, CLI_ACTOR, dataset, column, element)
        console.print(_("Column %(column)s of %(dataset)s carries %(element)s.")
                      % {"column": column, "dataset": dataset, "element": element})

    @authority.command("mappings")
    def mappings(ctx: typer.Context,
                 dataset: Annotated[str | None, typer.Option(help="Only this dataset")] = None) -> None:
        """Which column of which dataset carries which element."""
        with storage_for(ctx).uow() as uow:
            codes = {e.id: e.code for e in service.list_elements(uow, CLI_ACTOR)}
            table = Table(_("Dataset"), _("Column"), _("Element"))
            for m in service.list_mappings(uow, CLI_ACTOR, dataset_key=dataset):
                table.add_row(m.dataset_key, m.column, codes.get(m.element_id, ""))
        console.print(table)

    @authority.command("compare")
    def compare(ctx: typer.Context,
                target: Annotated[str | None, typer.Argument(
                    help="An element code or a subject (person, legal_entity); all elements if omitted")] = None,
                as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False) -> None:
        """Compare other departments' values with the authority's; each new discrepancy becomes a correction task."""
        with storage_for(ctx).uow() as uow, console.status(_("Comparing with the authoritative sources…")):
            report = service.compare(uow, CLI_ACTOR, target)
        if as_json:
            print(json.dumps(report, ensure_ascii=False, indent=2))
            return
        table = Table(_("Element"), _("Reference"), _("Compared with"), _("Shared subjects"), _("Discrepancies"),
                      _("New tasks"), _("Closed tasks"))
        for e in report["elements"]:
            ref = f"{e['reference']['dataset']} v{e['reference']['version']}" if e["reference"] else e.get("note", "")
            for d in e["datasets"] or [{}]:
                other = f"{d['dataset']} v{d['version']}" if d.get("version") else d.get("dataset", "")
                if d.get("skipped"):
                    other += f" ({d['skipped']})"
                table.add_row(f"{e['element']} {e['name']}", ref, other, str(d.get("overlap", "")),
                              str(d.get("discrepancies", "")), str(d.get("new_tasks", "")),
                              str(d.get("closed_tasks", "")))
        console.print(table)
        console.print(_("%(found)s discrepancies; %(new)s new correction tasks, %(closed)s closed as no longer found.")
                      % {"found": report["discrepancies"], "new": report["new_tasks"],
                         "closed": report["closed_tasks"]})

    @authority.command("tasks")
    def tasks(ctx: typer.Context,
              status: Annotated[str, typer.Option(help="open, confirmed_correct, corrected, rejected or all")] = "open",
              element: Annotated[str | None, typer.Option(help="Only this element code")] = None,
              limit: Annotated[int, typer.Option(help="How many, oldest first")] = 50) -> None:
        """Correction tasks (纠错) with the two values that disagree."""
        if status != "all" and status not in STATUS_LABELS:
            raise Invalid("Status must be one of %(statuses)s", statuses=", ".join([*STATUS_LABELS, "all"]))
        with storage_for(ctx).uow() as uow:
            codes = {e.id: e.code for e in service.list_elements(uow, CLI_ACTOR)}
            depts = {d.id: d.code for d in _departments(uow)}
            table = Table("ID", _("Element"), _("Subject key"), _("Authority value"), _("Other value"),
                          _("Reported by"), _("Assigned to"), _("Status"))
            for t in service.list_tasks(uow, CLI_ACTOR, status=None if status == "all" else status,
                                        element_code=element, limit=limit):
                table.add_row(str(t.id), codes.get(t.element_id, ""), t.subject_key, t.authority_value or "—",
                              t.other_value or "—", f"{t.other_dataset_key} v{t.other_version}",
                              depts.get(t.assigned_department_id, ""), _(STATUS_LABELS[t.status]))
        console.print(table)

    @authority.command("resolve")
    def resolve(ctx: typer.Context, task_id: int,
                outcome: Annotated[str, typer.Argument(help="confirmed_correct | corrected | rejected")],
                note: Annotated[str, typer.Option(help="What was checked or changed")] = "") -> None:
        """Answer a correction task on behalf of the authoritative department."""
        with storage_for(ctx).uow() as uow:
            task = service.resolve_task(uow, CLI_ACTOR, task_id, outcome, note)
        console.print(_("Correction task %(id)s: %(status)s.") % {"id": task.id, "status": _(STATUS_LABELS[task.status])})

    @baselib_app.command("build")
    def build(ctx: typer.Context,
              subject: Annotated[str, typer.Argument(help="person | legal_entity")],
              force: Annotated[bool, typer.Option(help="Write a new version even if no source changed")] = False,
              ) -> None:
        """Merge the departments' datasets into the base library, each element from its authoritative source."""
        if subject not in SUBJECTS:
            raise Invalid("Subject must be one of %(subjects)s", subjects=", ".join(SUBJECTS))
        with storage_for(ctx).uow() as uow, console.status(_("Building the base library…")):
            result = service.build_base_library(uow, CLI_ACTOR, subject, force=force)
        if not result.built:
            console.print(_("%(key)s is up to date (version %(n)s); no source has changed.")
                          % {"key": result.dataset_key, "n": result.version.number if result.version else "—"})
            return
        console.print(_("%(key)s version %(n)s: %(rows)s rows, %(fallback)s values taken from a non-authoritative "
                        "source.") % {"key": result.dataset_key, "n": result.version.number if result.version else "—",
                                      "rows": result.rows, "fallback": result.fallback_values})
        for i in result.inputs:
            role = ROLE_LABELS[i["role"]]
            console.print(_("  from %(dataset)s version %(version)s (%(role)s)")
                          % {"dataset": i["dataset"], "version": i["version"], "role": _(role)})


def _departments(uow: Any) -> list[Any]:
    return auth_service.list_departments(uow, CLI_ACTOR)
