"""`huiju protection labels|label|confirm|exception|mask|levels|reencrypt`: thin callers of protection.service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from huiju.auth.roles import Actor
from huiju.catalog.protection import service
from huiju.i18n import gettext as _

CLI_ACTOR = Actor.system("cli")


def register(app: typer.Typer, storage_for: Callable[[typer.Context], Any], console: Console) -> None:
    prot = typer.Typer(help="Data protection: classification labels, level exceptions, masking policies, "
                            "re-encryption.", no_args_is_help=True)
    app.add_typer(prot, name="protection")

    @prot.command("labels")
    def labels(ctx: typer.Context, dataset: str) -> None:
        """Show a dataset's column labels and its effective level."""
        with storage_for(ctx).uow() as uow:
            ds, label = service.dataset_labels(uow, CLI_ACTOR, dataset)
            table = Table(_("Column"), _("Kind"), _("Level"), _("Sensitive PI"), _("Mask"), _("Confirmed"),
                          _("Exception"))
            for column, entry in sorted((ds.labels or {}).items()):
                exc = entry.get("exception")
                table.add_row(column, entry.get("kind", ""), entry.get("level", ""),
                              "✓" if entry.get("sensitive_pi") else "", entry.get("mask") or "",
                              "✓" if entry.get("confirmed") else "",
                              f"{exc['level']}: {exc['reason']} ({exc['by']})" if exc else "")
        console.print(table)
        if label is not None:
            console.print(_("Dataset level: %(level)s") % {"level": label.level.value})

    @prot.command("label")
    def label(ctx: typer.Context, dataset: str, column: str,
              level: Annotated[str, typer.Option(help="core, important, general_4 … general_1")],
              sensitive: Annotated[bool, typer.Option("--sensitive/--not-sensitive")] = False,
              category: Annotated[list[str] | None, typer.Option(help="PI category; repeatable")] = None,
              mask: Annotated[str | None, typer.Option(help="Mask applied when it leaves the department")] = None,
              ) -> None:
        """Confirm or change one column's label."""
        with storage_for(ctx).uow() as uow:
            service.label_column(uow, CLI_ACTOR, dataset, column, level=level, sensitive_pi=sensitive,
                                 categories=category or [], mask=mask)
        console.print(_("Label of %(column)s saved.") % {"column": column})

    @prot.command("confirm")
    def confirm(ctx: typer.Context, dataset: str) -> None:
        """Confirm every proposed label of a dataset as it stands."""
        with storage_for(ctx).uow() as uow:
            done = service.confirm_labels(uow, CLI_ACTOR, dataset)
        console.print(_("%(n)s labels confirmed.") % {"n": len(done)})

    @prot.command("mask")
    def mask(ctx: typer.Context, dataset: str, column: str,
             name: Annotated[str | None, typer.Argument(help="A mask name; omit for the kind's default")] = None) -> None:
        """Set the masking policy of a column (the mask it gets outside its department)."""
        with storage_for(ctx).uow() as uow:
            ds = service.set_mask_policy(uow, CLI_ACTOR, dataset, column, name)
            chosen = ds.labels[column].get("mask")
        console.print(_("Mask of %(column)s: %(mask)s") % {"column": column, "mask": chosen or "-"})

    @prot.command("exception")
    def exception(ctx: typer.Context, dataset: str,
                  reason: Annotated[str, typer.Option(help="Why the inherited level does not apply")],
                  level: Annotated[str | None, typer.Option(help="The level decided; omit with --withdraw")] = None,
                  column: Annotated[str | None, typer.Option(help="A column; default: the whole dataset")] = None,
                  withdraw: Annotated[bool, typer.Option(help="Withdraw the exception")] = False) -> None:
        """Record (or withdraw) an exception to the level inherited by 就高从严, with its reason."""
        with storage_for(ctx).uow() as uow:
            service.record_exception(uow, CLI_ACTOR, dataset, level=None if withdraw else level, reason=reason,
                                     column=column)
        console.print(_("Exception recorded."))

    @prot.command("levels")
    def levels(ctx: typer.Context) -> None:
        """What each data level contains: datasets and columns."""
        with storage_for(ctx).uow() as uow:
            table = Table(_("Level"), _("Datasets"), _("Columns"))
            for item in service.levels_overview(uow, CLI_ACTOR):
                table.add_row(_(item.level.label), ", ".join(ds.key for ds, _l in item.datasets),
                              ", ".join(f"{ds.key}.{c}" for ds, c, _e in item.columns))
        console.print(table)

    @prot.command("reencrypt")
    def reencrypt(ctx: typer.Context, dataset: str,
                  rotate: Annotated[bool, typer.Option(help="Rotate the dataset's data key first")] = False) -> None:
        """Write the current version again, encrypted under the current (or, with --rotate, a new) data key."""
        with storage_for(ctx).uow() as uow, console.status(_("Re-encrypting %(key)s…") % {"key": dataset}):
            version = service.reencrypt_dataset(uow, CLI_ACTOR, dataset, rotate=rotate)
        console.print(_("Version %(n)s written: %(rows)s rows.") % {"n": version.number, "rows": version.row_count})
