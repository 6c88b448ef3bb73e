"""`huiju dataset …` and `huiju catalog …`: thin callers of catalog.service."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from huiju.auth.roles import Actor
from huiju.catalog import service, vocab
from huiju.i18n import N_
from huiju.i18n import gettext as _
from huiju.storage.uow import UnitOfWork

CLI_ACTOR = Actor.system("cli")


def register(app: typer.Typer, storage_for: Callable[[typer.Context], Any], console: Console) -> None:
    dataset = typer.Typer(help="Datasets (数据集) and their versions.", no_args_is_help=True)
    app.add_typer(dataset, name="dataset")

    @dataset.command("add")
    def add(ctx: typer.Context, key: str, name: str,
            dept: str = typer.Option(..., help="Code of the department that owns it")) -> None:
        """Register a dataset."""
        with storage_for(ctx).uow() as uow:
            ds = service.register_dataset(uow, CLI_ACTOR, key=key, name=name, department_code=dept)
        console.print(_("Dataset %(key)s registered (id %(id)s).") % {"key": ds.key, "id": ds.id})

    @dataset.command("list")
    def list_(ctx: typer.Context) -> None:
        """List datasets."""
        with storage_for(ctx).uow() as uow:
            table = Table(_("Key"), _("Name"), _("Department"), _("Current version"))
            for ds in service.list_datasets(uow, CLI_ACTOR):
                current = service.current_version(uow, CLI_ACTOR, ds.key)
                table.add_row(ds.key, ds.name, str(ds.department_id), str(current.number) if current else "—")
        console.print(table)

    @dataset.command("versions")
    def versions(ctx: typer.Context, key: str) -> None:
        """List a dataset's versions; the current one is marked."""
        with storage_for(ctx).uow() as uow:
            ds = service.dataset_by_key(uow, CLI_ACTOR, key)
            table = Table("#", _("Rows"), _("Bytes"), _("Created (UTC)"), "")
            for v in service.list_versions(uow, CLI_ACTOR, key):
                table.add_row(str(v.number), f"{v.row_count:,}", f"{v.byte_count:,}",
                              v.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                              _("current") if v.id == ds.current_version_id else "")
        console.print(table)

    @dataset.command("rollback")
    def rollback(ctx: typer.Context, key: str, number: int) -> None:
        """Serve version NUMBER again."""
        with storage_for(ctx).uow() as uow:
            service.rollback_version(uow, CLI_ACTOR, key, number)
        console.print(_("Dataset %(key)s now serves version %(n)s.") % {"key": key, "n": number})

    register_catalog(app, storage_for, console)


def _entry_id(uow: UnitOfWork, ref: str) -> int:
    """An entry given by its id or its resource code."""
    return int(ref) if ref.isdigit() else service.entry_by_code(uow, CLI_ACTOR, ref).id


def register_catalog(app: typer.Typer, storage_for: Callable[[typer.Context], Any], console: Console) -> None:
    catalog = typer.Typer(help="The government information-resource catalog (政务信息资源目录).", no_args_is_help=True)
    app.add_typer(catalog, name="catalog")

    @catalog.command("register")
    def register(ctx: typer.Context, file: Path = typer.Argument(..., help="JSON file with the entry's metadata"),
                 dept: str = typer.Option(..., help="Code of the providing department")) -> None:
        """Register a draft entry from a JSON file (fields as in the API)."""
        fields = json.loads(file.read_text(encoding="utf-8"))
        with storage_for(ctx).uow() as uow:
            entry = service.register_entry(uow, CLI_ACTOR, department_code=dept, fields=fields)
        console.print(_("Catalog entry %(code)s registered (id %(id)s).") % {"code": entry.code, "id": entry.id})

    @catalog.command("list")
    def list_(ctx: typer.Context, state: str = typer.Option("", help="draft | under_review | published | withdrawn"),
              limit: int = typer.Option(100)) -> None:
        """List catalog entries, newest change first."""
        with storage_for(ctx).uow() as uow:
            table = Table("ID", _("Resource code"), _("Resource name"), _("Provider"), _("State"))
            for e in service.list_entries(uow, CLI_ACTOR, state=state or None, limit=limit):
                table.add_row(str(e.id), e.code, e.name, e.provider_name, vocab.label(vocab.STATES, e.state))
        console.print(table)

    @catalog.command("show")
    def show(ctx: typer.Context, entry: str = typer.Argument(..., help="Entry id or resource code")) -> None:
        """Show an entry's metadata, data items and history."""
        with storage_for(ctx).uow() as uow:
            e = service.get_entry(uow, CLI_ACTOR, _entry_id(uow, entry))
            console.print(f"[bold]{e.code}[/bold]  {e.name}  ({vocab.label(vocab.STATES, e.state)})")
            console.print(f"{_('Provider')}: {e.provider_name} ({e.provider_code})")
            console.print(f"{_('Share type')}: {vocab.label(vocab.SHARE_TYPES, e.share_type)}  "
                          f"{_('Open class')}: {vocab.label(vocab.OPEN_CLASSES, e.open_class)}  "
                          f"{_('Update cycle')}: {vocab.label(vocab.UPDATE_CYCLES, e.update_cycle)}")
            console.print(e.abstract)
            items = Table(_("Data item"), _("Type"), _("Length"), _("Share type"))
            for i in e.items:
                items.add_row(i.name, i.type_code, str(i.length or ""), vocab.label(vocab.SHARE_TYPES, i.share_type))
            console.print(items)
            history = Table(_("Time (UTC)"), _("Action"), _("By"), _("Comment"))
            for c in service.entry_history(uow, CLI_ACTOR, e.id):
                history.add_row(c.created_at.strftime("%Y-%m-%d %H:%M"), vocab.label(vocab.CHANGE_ACTIONS, c.action),
                                c.actor_name, c.comment or "")
            console.print(history)

    def transition(name: str, fn: Callable[..., Any], message: str, needs_reason: bool) -> None:
        @catalog.command(name)
        def command(ctx: typer.Context, entry: str = typer.Argument(..., help="Entry id or resource code"),
                    comment: str = typer.Option("", "--comment", "--reason", help="Comment, or the reason")) -> None:
            with storage_for(ctx).uow() as uow:
                entry_id = _entry_id(uow, entry)
                done = fn(uow, CLI_ACTOR, entry_id, **({"reason": comment} if needs_reason else {"comment": comment}))
            console.print(_(message) % {"code": done.code})

        command.__doc__ = {"submit": "Submit an entry for the operator's review.",
                           "approve": "Approve an entry under review and publish it.",
                           "reject": "Reject an entry under review (give --reason).",
                           "withdraw": "Withdraw a published entry (give --reason)."}[name]

    transition("submit", service.submit_entry, N_("Catalog entry %(code)s submitted for review."), False)
    transition("approve", service.approve_entry, N_("Catalog entry %(code)s published."), False)
    transition("reject", service.reject_entry, N_("Catalog entry %(code)s sent back to draft."), True)
    transition("withdraw", service.withdraw_entry, N_("Catalog entry %(code)s withdrawn."), True)

    @catalog.command("mount")
    def mount(ctx: typer.Context, entry: str = typer.Argument(..., help="Entry id or resource code"),
              dataset: str = typer.Argument(..., help="Dataset key")) -> None:
        """Mount (挂接) a dataset on an entry."""
        with storage_for(ctx).uow() as uow:
            ds = service.dataset_by_key(uow, CLI_ACTOR, dataset)
            service.mount_dataset(uow, CLI_ACTOR, _entry_id(uow, entry), ds.id)
        console.print(_("Dataset %(key)s mounted.") % {"key": dataset})

    @catalog.command("search")
    def search_(ctx: typer.Context, q: str = typer.Argument(""), page: int = typer.Option(1),
                sort: str = typer.Option("relevance", help="relevance | updated | name | usage")) -> None:
        """Search the catalog by Chinese words."""
        with storage_for(ctx).uow() as uow:
            result = service.search_entries(uow, CLI_ACTOR, q=q, sort=sort, page=page, with_facets=False)
            table = Table(_("Resource code"), _("Resource name"), _("Provider"), _("State"),
                          title=_("%(n)s entries found") % {"n": result.total})
            for e in result.entries:
                table.add_row(e.code, e.name, e.provider_name, vocab.label(vocab.STATES, e.state))
        console.print(table)

    @catalog.command("harvest-add")
    def harvest_add(ctx: typer.Context, name: str, kind: str = typer.Argument(..., help="huiju | ckan | dcat"),
                    url: str = typer.Argument(...),
                    dept: str = typer.Option(..., help="Local department the harvested entries are filed under")) -> None:
        """Add a catalog to harvest: another huiju node, a CKAN portal or a DCAT document."""
        with storage_for(ctx).uow() as uow:
            source = service.add_harvest_source(uow, CLI_ACTOR, name=name, kind=kind, url=url, department_code=dept)
        console.print(_("Harvest source %(name)s added (id %(id)s).") % {"name": source.name, "id": source.id})

    @catalog.command("harvest")
    def harvest_run(ctx: typer.Context, source_id: int,
                    token: str = typer.Option("", envvar="HUIJU_HARVEST_TOKEN", help="Credential for the source")) -> None:
        """Harvest a source now; records that fail keep their raw text and error."""
        with storage_for(ctx).uow() as uow:
            with console.status(_("Harvesting…")):
                report = service.harvest_source(uow, CLI_ACTOR, source_id, token=token or None)
        console.print(_("Harvest finished: %(c)s new, %(u)s updated, %(s)s unchanged, %(f)s failed.")
                      % {"c": report.created, "u": report.updated, "s": report.unchanged, "f": report.failed})

    @catalog.command("import")
    def import_(ctx: typer.Context, file: Path, dept: str = typer.Option(..., help="Code of the providing department")) -> None:
        """Import the Excel template (one row per entry, items on the second sheet); every row is reported."""
        with storage_for(ctx).uow() as uow:
            report = service.import_entries(uow, CLI_ACTOR, department_code=dept, source=file)
        table = Table(_("Sheet"), _("Row"), _("Resource name"), _("Resource code"), _("Result"))
        for row in report:
            table.add_row(row.sheet, str(row.row), row.name, row.code or "", row.error or row.action or "")
        console.print(table)
        failed = sum(1 for r in report if r.error)
        console.print(_("%(ok)s rows imported, %(bad)s rows with errors.") % {"ok": len(report) - failed, "bad": failed})
        if failed:
            raise typer.Exit(1)

    @catalog.command("export")
    def export(ctx: typer.Context, file: Path, dept: str = typer.Option("", help="Only this department's entries")) -> None:
        """Write the catalog to the Excel template."""
        with storage_for(ctx).uow() as uow:
            file.write_bytes(service.export_entries(uow, CLI_ACTOR, department_code=dept or None))
        console.print(_("Written to %(path)s.") % {"path": file})
