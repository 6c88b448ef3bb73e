"""`huiju opendata propose|review|refresh|prune-indexes|overdue|list`: thin callers of opendata.service."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from huiju.auth.roles import Actor
from huiju.i18n import gettext as _
from huiju.opendata import service

CLI_ACTOR = Actor.system("cli")


def _policy(rules: list[str]) -> dict[str, str]:
    out = {}
    for rule in rules:
        column, sep, action = rule.partition("=")
        if not sep:
            raise typer.BadParameter(_("Write each rule as column=keep, column=drop or column=mask:MASK"))
        out[column] = action
    return out


def register(app: typer.Typer, storage_for: Callable[[typer.Context], Any], console: Console) -> None:
    od = typer.Typer(help="Open data (开放): open catalog entries, review, re-derive, overdue list.",
                     no_args_is_help=True)
    app.add_typer(od, name="opendata")

    @od.command("propose")
    def propose(ctx: typer.Context, entry_id: int,
                dataset: str = typer.Option(None, help="Key of the mounted dataset (if the entry has several)"),
                policy: list[str] = typer.Option([], "--policy", help="column=keep|drop|mask:MASK (repeatable)"),
                index: list[str] = typer.Option([], "--index", help="Column served with an equality index"),
                pk: str = typer.Option(None, "--pk", help="Primary-key column (indexed for lookups)"),
                tag: list[str] = typer.Option([], "--tag", help="Tag (repeatable)"),
                name: str = typer.Option(None, help="Name in URLs and the CKAN API")) -> None:
        """Propose a published catalog entry for opening."""
        with storage_for(ctx).uow() as uow:
            item = service.propose_open(uow, CLI_ACTOR, entry_id=entry_id, dataset_key=dataset,
                                        policy=_policy(policy), primary_key=pk, index_columns=index, tags=tag,
                                        name=name)
        console.print(_("Open dataset %(name)s proposed (id %(id)s).") % {"name": item.name, "id": item.id})

    @od.command("review")
    def review(ctx: typer.Context, open_id: int, approve: bool = typer.Option(..., "--approve/--reject"),
               comment: str = typer.Option("", help="Comment; required when rejecting")) -> None:
        """Approve (derive the open version and publish) or reject a proposal."""
        with storage_for(ctx).uow() as uow:
            if approve:
                item = service.approve_open(uow, CLI_ACTOR, open_id, comment=comment)
                console.print(_("Open dataset %(name)s is published.") % {"name": item.name})
            else:
                item = service.reject_open(uow, CLI_ACTOR, open_id, reason=comment)
                console.print(_("Open dataset %(name)s was rejected.") % {"name": item.name})

    @od.command("refresh")
    def refresh(ctx: typer.Context) -> None:
        """Re-derive every open dataset whose source has a newer version."""
        with storage_for(ctx).uow() as uow:
            made = service.refresh_open_versions(uow, CLI_ACTOR)
        console.print(_("%(n)s open versions derived.") % {"n": len(made)})

    @od.command("prune-indexes")
    def prune_indexes(ctx: typer.Context) -> None:
        """Remove the serving indexes of old open versions (beyond the kept ones, after the grace period)."""
        with storage_for(ctx).uow() as uow:
            removed = service.prune_serving_indexes(uow, CLI_ACTOR)
        console.print(_("%(n)s serving indexes removed.") % {"n": len(removed)})

    @od.command("list")
    def list_(ctx: typer.Context) -> None:
        """List published open datasets with their current version."""
        with storage_for(ctx).uow() as uow:
            items = service.published_datasets(uow)
            versions = service.current_open_versions(uow, [i.id for i in items])
        table = Table(_("Name"), _("Title"), _("Version"), _("Rows"), _("Resource id"))
        for item in items:
            v = versions.get(item.id)
            table.add_row(item.name, item.title, str(v.number) if v else "—", f"{v.row_count:,}" if v else "—",
                          v.uid if v else "—")
        console.print(table)

    @od.command("overdue")
    def overdue(ctx: typer.Context, csv: Path = typer.Option(None, help="Write the list as CSV (UTF-8 with BOM)")) -> None:
        """Openable catalog entries not opened within the configured months."""
        with storage_for(ctx).uow() as uow:
            if csv is not None:
                csv.write_text(service.overdue_openable_csv(uow, CLI_ACTOR), encoding="utf-8")
                console.print(_("Written to %(path)s.") % {"path": str(csv)})
                return
            rows = service.overdue_openable(uow, CLI_ACTOR)
        table = Table(_("Code"), _("Name"), _("Open class"), _("Created"), _("Days waiting"))
        for o in rows:
            table.add_row(o.code, o.name, o.open_class, o.created_at.strftime("%Y-%m-%d"), str(o.days_waiting))
        console.print(table)
