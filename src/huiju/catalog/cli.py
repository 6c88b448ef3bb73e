"""`huiju dataset add|list|versions|rollback`: thin callers of catalog.service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from huiju.auth.roles import Actor
from huiju.catalog import service
from huiju.i18n import gettext as _

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
