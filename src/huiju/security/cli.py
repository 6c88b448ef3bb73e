"""`huiju audit verify|list`: thin callers of security.service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from huiju.auth.roles import Actor
from huiju.i18n import gettext as _
from huiju.security import service

CLI_ACTOR = Actor.system("cli")


def register(app: typer.Typer, storage_for: Callable[[typer.Context], Any], console: Console) -> None:
    audit = typer.Typer(help="The SM3 audit chain.", no_args_is_help=True)
    app.add_typer(audit, name="audit")

    @audit.command("verify")
    def verify(ctx: typer.Context) -> None:
        """Check every link; exit 1 and name the first broken entry if the chain was tampered with."""
        with storage_for(ctx).uow() as uow, console.status(_("Verifying the audit chain…")):
            report = service.verify_audit(uow, CLI_ACTOR)
        if report.ok:
            console.print(_("Chain intact: %(n)s entries checked.") % {"n": report.checked})
            return
        where = _("entry %(seq)s") % {"seq": report.broken_seq}
        if report.broken_id is not None:
            where += f" (id {report.broken_id})"
        message = _("Chain broken at %(where)s: %(reason)s") % {"where": where, "reason": _(report.reason)}
        console.print(f"[red]{message}[/red]")
        raise typer.Exit(1)

    @audit.command("list")
    def list_(ctx: typer.Context, limit: Annotated[int, typer.Option(help="How many, newest first")] = 20) -> None:
        """Show the newest audit entries."""
        with storage_for(ctx).uow() as uow:
            table = Table("#", _("Time (UTC)"), _("Actor"), _("Event"), _("Details"))
            for e in service.list_audit(uow, CLI_ACTOR, limit=limit):
                table.add_row(str(e.seq), e.occurred_at.strftime("%Y-%m-%d %H:%M:%S"), e.actor_name, e.event_type, e.payload)
        console.print(table)
