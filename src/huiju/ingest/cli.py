"""`huiju ingest FILE`, `huiju ingest jobs`, `huiju ingest report JOB`: thin callers of ingest.service."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from huiju.auth.roles import Actor
from huiju.i18n import gettext as _
from huiju.ingest import service

CLI_ACTOR = Actor.system("cli")


def register(app: typer.Typer, storage_for: Callable[[typer.Context], Any], console: Console) -> None:
    ingest = typer.Typer(help="Load data into datasets (汇聚).", no_args_is_help=True)
    app.add_typer(ingest, name="ingest")

    @ingest.command("file")
    def ingest_file(ctx: typer.Context, path: Path,
                    dataset: Annotated[str, typer.Option(help="Dataset key")],
                    encoding: Annotated[str | None, typer.Option(help="utf-8, gbk or gb18030 (detected if omitted)")] = None,
                    sheet: Annotated[str | None, typer.Option(help="Sheet name of a workbook")] = None,
                    header_rows: Annotated[int | None, typer.Option(help="Header rows (merged headers)")] = None,
                    mode: Annotated[str, typer.Option(help="replace | append")] = "replace") -> None:
        """Validate FILE into a new version of the dataset; rejected rows go to quarantine."""
        with storage_for(ctx).uow() as uow, Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                                     TextColumn("{task.completed:,}"), TimeElapsedColumn(),
                                                     console=console) as progress:
            task = progress.add_task(_("Loading %(name)s") % {"name": path.name}, total=None)
            job = service.ingest_file(uow, CLI_ACTOR, dataset_key=dataset, path=path, encoding=encoding,
                                      sheet=sheet, header_rows=header_rows, write_mode=mode,
                                      progress=lambda n: progress.advance(task, n))
        if job.status == "failed":
            message = _("Job %(id)s failed: %(error)s") % {"id": job.id, "error": job.error}
            console.print(f"[red]{message}[/red]")
            raise typer.Exit(1)
        console.print(_("Job %(id)s: %(read)s rows read, %(ok)s accepted, %(bad)s quarantined (quality %(score)s%%).")
                      % {"id": job.id, "read": job.rows_read, "ok": job.rows_accepted, "bad": job.rows_rejected,
                         "score": job.quality_score})

    @ingest.command("jobs")
    def jobs(ctx: typer.Context, limit: Annotated[int, typer.Option(help="How many, newest first")] = 20) -> None:
        """List ingest jobs with status and counts."""
        with storage_for(ctx).uow() as uow:
            table = Table("ID", _("Input"), _("Status"), _("Read"), _("Accepted"), _("Quarantined"))
            for j in service.list_jobs(uow, CLI_ACTOR, limit=limit):
                table.add_row(str(j.id), j.input_name, _(j.status), f"{j.rows_read:,}", f"{j.rows_accepted:,}",
                              f"{j.rows_rejected:,}")
        console.print(table)

    @ingest.command("report")
    def report(ctx: typer.Context, job_id: int,
               as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False) -> None:
        """The quality report of a job: counts per rule, examples, score."""
        with storage_for(ctx).uow() as uow:
            data = service.quality_report(uow, CLI_ACTOR, job_id)
        if as_json:
            print(json.dumps(data, ensure_ascii=False, indent=2))
            return
        console.print(_("Job %(id)s: %(read)s read = %(ok)s accepted + %(bad)s quarantined; quality %(score)s%%")
                      % {"id": job_id, "read": data["rows_read"], "ok": data["rows_accepted"],
                         "bad": data["rows_rejected"], "score": data["quality_score"]})
        table = Table(_("Rule"), _("Rows"), _("Examples"))
        for r in data["rules"]:
            table.add_row(r["rule"], str(r["count"]),
                          "\n".join(f"#{e['row']} {e['field']}: {e['message']}" for e in r["examples"][:3]))
        console.print(table)
