"""`huiju portal applications|decide|revoke|expire|stats`: thin callers of the portal's service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from huiju.auth.roles import Actor
from huiju.i18n import gettext as _
from huiju.opendata.portal import service
from huiju.opendata.portal_models import APPLICATION_LABELS

CLI_ACTOR = Actor.system("cli")


def register(app: typer.Typer, storage_for: Callable[[typer.Context], Any], console: Console) -> None:
    portal = typer.Typer(help="Open-data portal: conditional-data applications, expiry, usage statistics.",
                         no_args_is_help=True)
    app.add_typer(portal, name="portal")

    @portal.command("applications")
    def applications(ctx: typer.Context, status: str = typer.Option(None, help="Only this status "
                                                                    "(submitted, approved, active, …)")) -> None:
        """List applications for conditional data, oldest due first; overdue ones are marked."""
        with storage_for(ctx).uow() as uow:
            items = service.list_applications_to_review(uow, CLI_ACTOR, status=status)
        table = Table(_("No."), _("Data"), _("Status"), _("Decision due"), "")
        for a in items:
            table.add_row(str(a.id), a.entry_title, _(APPLICATION_LABELS[a.status]), a.due_on.isoformat(),
                          _("overdue") if service.is_overdue(a) else "")
        console.print(table)

    @portal.command("decide")
    def decide(ctx: typer.Context, application_id: int, approve: bool = typer.Option(..., "--approve/--refuse"),
               note: str = typer.Option("", help="Reviewer's note; required to refuse")) -> None:
        """Approve or refuse an application (the applicant then accepts the agreement online)."""
        with storage_for(ctx).uow() as uow:
            app_ = service.decide_application(uow, CLI_ACTOR, application_id, approve=approve, note=note)
        console.print(_("Application %(id)s: %(status)s") % {"id": app_.id,
                                                              "status": _(APPLICATION_LABELS[app_.status])})

    @portal.command("revoke")
    def revoke(ctx: typer.Context, application_id: int, reason: str = typer.Option(..., help="Why")) -> None:
        """End access to conditional data now; its key stops working at once."""
        with storage_for(ctx).uow() as uow:
            app_ = service.revoke_application(uow, CLI_ACTOR, application_id, reason=reason)
        console.print(_("Application %(id)s: %(status)s") % {"id": app_.id,
                                                              "status": _(APPLICATION_LABELS[app_.status])})

    @portal.command("expire")
    def expire(ctx: typer.Context) -> None:
        """Mark access past its end as expired (run daily)."""
        with storage_for(ctx).uow() as uow:
            ids = service.expire_applications(uow, CLI_ACTOR)
        console.print(_("%(n)s applications expired.") % {"n": len(ids)})

    @portal.command("stats")
    def stats(ctx: typer.Context) -> None:
        """Views, downloads and API calls per department."""
        with storage_for(ctx).uow() as uow:
            totals = service.usage_totals(uow)
        table = Table(_("Department"), _("views"), _("downloads"), _("API calls"))
        for dept_id, c in sorted(totals.by_department.items()):
            table.add_row(str(dept_id), str(c["view"]), str(c["download"]), str(c["api"]))
        table.add_row(_("Total"), str(totals.totals["view"]), str(totals.totals["download"]), str(totals.totals["api"]))
        console.print(table)
