"""`huiju ingest file|jobs|report`, `huiju source add|list|show|run|set`, `huiju job list|show|log|rerun`:
thin callers of ingest.service."""

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
                    mode: Annotated[str, typer.Option(help="replace | append | merge")] = "replace",
                    key: Annotated[list[str] | None, typer.Option(help="Merge key column (repeat for several)")] = None,
                    ) -> None:
        """Validate FILE into a new version of the dataset; rejected rows go to quarantine."""
        with storage_for(ctx).uow() as uow, Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                                     TextColumn("{task.completed:,}"), TimeElapsedColumn(),
                                                     console=console) as progress:
            task = progress.add_task(_("Loading %(name)s") % {"name": path.name}, total=None)
            job = service.ingest_file(uow, CLI_ACTOR, dataset_key=dataset, path=path, encoding=encoding,
                                      sheet=sheet, header_rows=header_rows, write_mode=mode, key_columns=key,
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

    register_sources(app, storage_for, console)
    register_jobs(app, storage_for, console)


def _progress(console: Console) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}"),
                    TimeElapsedColumn(), console=console)


def _summary(console: Console, job: Any) -> None:
    if job.status == "failed":
        console.print(f"[red]{_('Job %(id)s failed: %(error)s') % {'id': job.id, 'error': job.error}}[/red]")
        raise typer.Exit(1)
    if job.status == "queued":  # a failed attempt waits for its retry
        console.print(_("Job %(id)s: attempt %(n)s failed (%(error)s); a worker tries again after %(at)s.")
                      % {"id": job.id, "n": job.attempts, "error": job.error, "at": job.run_after})
        raise typer.Exit(1)
    console.print(_("Job %(id)s: %(read)s rows read, %(ok)s accepted, %(bad)s quarantined (quality %(score)s%%).")
                  % {"id": job.id, "read": job.rows_read, "ok": job.rows_accepted, "bad": job.rows_rejected,
                     "score": job.quality_score})


def _header(values: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise typer.BadParameter(_("A header is given as \"Name: value\""))
        headers[name.strip()] = value.strip()
    return headers


def register_sources(app: typer.Typer, storage_for: Callable[[typer.Context], Any], console: Console) -> None:
    sources = typer.Typer(help="Sources kept on the platform: a file path, a database, an HTTP API.",
                          no_args_is_help=True)
    app.add_typer(sources, name="source")

    @sources.command("add")
    def add(ctx: typer.Context, name: str,
            dataset: Annotated[str, typer.Option(help="Dataset key")],
            kind: Annotated[str, typer.Option(help="file | sql | http")],
            path: Annotated[str | None, typer.Option(help="file: absolute path on this machine")] = None,
            url: Annotated[str | None, typer.Option(help="sql: SQLAlchemy URL; http: the API address")] = None,
            table: Annotated[str | None, typer.Option(help="sql: table (or a SQLite file's table)")] = None,
            query: Annotated[str | None, typer.Option(help="sql: a read query instead of a table")] = None,
            encoding: Annotated[str | None, typer.Option(help="file: utf-8, gbk or gb18030")] = None,
            sheet: Annotated[str | None, typer.Option(help="file: sheet of a workbook")] = None,
            header: Annotated[list[str] | None, typer.Option(help="http: \"Name: value\" (sealed)")] = None,
            records_path: Annotated[str | None, typer.Option(help="http: where the records are, e.g. data.records")] = None,
            page_param: Annotated[str | None, typer.Option(help="http: page parameter (default page)")] = None,
            size_param: Annotated[str | None, typer.Option(help="http: page-size parameter (default pageSize)")] = None,
            page_size: Annotated[int | None, typer.Option(help="http: records per page")] = None,
            since_param: Annotated[str | None, typer.Option(help="http: parameter asking for newer records")] = None,
            mode: Annotated[str, typer.Option(help="replace | append | merge")] = "replace",
            key: Annotated[list[str] | None, typer.Option(help="Merge key column (repeat for several)")] = None,
            cursor: Annotated[str | None, typer.Option(help="Incremental cursor column, e.g. updated_at")] = None,
            schedule: Annotated[str | None, typer.Option(help="cron: minute hour day month weekday")] = None,
            disabled: Annotated[bool, typer.Option("--disabled", help="Keep it, but do not schedule it yet")] = False,
            ) -> None:
        """Keep a source; secrets (a password in the URL, headers) are sealed, never stored in clear."""
        options = {"path": path, "url": url, "table": table, "query": query, "encoding": encoding, "sheet": sheet,
                   "records_path": records_path, "page_param": page_param, "size_param": size_param,
                   "page_size": page_size, "since_param": since_param, "headers": _header(header or [])}
        with storage_for(ctx).uow() as uow:
            source = service.add_source(uow, CLI_ACTOR, name=name, dataset_key=dataset, kind=kind, options=options,
                                        write_mode=mode, key_columns=key, cursor_column=cursor, schedule=schedule,
                                        enabled=not disabled)
            console.print(_("Source %(name)s kept for %(dataset)s; next run: %(next)s")
                          % {"name": source.name, "dataset": dataset, "next": source.next_run_at or "—"})

    @sources.command("list")
    def list_(ctx: typer.Context, dataset: Annotated[str | None, typer.Option(help="Only this dataset")] = None) -> None:
        """Sources with their kind, write mode, schedule, next run and cursor."""
        table = Table(_("Name"), _("Kind"), _("Write mode"), _("Schedule"), _("Next run (UTC)"), _("Cursor"))
        with storage_for(ctx).uow() as uow:
            for s in service.list_sources(uow, CLI_ACTOR, dataset_key=dataset):
                table.add_row(s.name, s.kind, _(s.write_mode), s.schedule or "—",
                              s.next_run_at.strftime("%Y-%m-%d %H:%M") if s.next_run_at else "—",
                              f"{s.cursor_column} > {s.cursor_value}" if s.cursor_column else "—")
        console.print(table)

    @sources.command("show")
    def show(ctx: typer.Context, name: str) -> None:
        """Everything about a source (secrets masked) and its last jobs, as JSON."""
        from huiju.ingest.schemas import SourceOut

        with storage_for(ctx).uow() as uow:
            shown = SourceOut.model_validate(service.shown_source(uow, CLI_ACTOR, name))
        print(shown.model_dump_json(indent=2))

    @sources.command("set")
    def set_(ctx: typer.Context, name: str,
             schedule: Annotated[str | None, typer.Option(help="New cron schedule")] = None,
             no_schedule: Annotated[bool, typer.Option("--no-schedule", help="Run only when asked")] = False,
             enable: Annotated[bool | None, typer.Option("--enable/--disable", help="Resume or pause")] = None,
             reset_cursor: Annotated[bool, typer.Option("--reset-cursor", help="Next run reads from the start")] = False,
             ) -> None:
        """Change a source's schedule, pause or resume it, or reset its cursor."""
        with storage_for(ctx).uow() as uow:
            s = service.change_source(uow, CLI_ACTOR, name, schedule=schedule, clear_schedule=no_schedule,
                                      enabled=enable, reset_cursor=reset_cursor)
            console.print(_("Source %(name)s kept for %(dataset)s; next run: %(next)s")
                          % {"name": s.name, "dataset": s.dataset_id, "next": s.next_run_at or "—"})

    @sources.command("run")
    def run(ctx: typer.Context, name: str,
            queue: Annotated[bool, typer.Option("--queue", help="Only queue it for a worker")] = False) -> None:
        """Run the source now in this process (with progress), or only queue it with --queue."""
        storage = storage_for(ctx)
        with storage.uow() as uow:
            job = service.run_source(uow, CLI_ACTOR, name)
        if queue:
            console.print(_("Job %(id)s queued.") % {"id": job.id})
            return
        with storage.uow() as uow:
            claimed = service.claim_job(uow, CLI_ACTOR, service.worker_name(), job_id=job.id)
        if claimed is None:  # a worker was quicker: it runs the job
            console.print(_("Job %(id)s queued.") % {"id": job.id})
            return
        with storage.uow() as uow, _progress(console) as progress:
            task = progress.add_task(_("Loading %(name)s") % {"name": name}, total=None)
            done = service.run_job(uow, CLI_ACTOR, job.id, progress=lambda n: progress.advance(task, n))
        _summary(console, done)


def register_jobs(app: typer.Typer, storage_for: Callable[[typer.Context], Any], console: Console) -> None:
    jobs = typer.Typer(help="Ingest jobs: status, progress, log, rerun.", no_args_is_help=True)
    app.add_typer(jobs, name="job")

    @jobs.command("list")
    def list_(ctx: typer.Context, dataset: Annotated[str | None, typer.Option(help="Only this dataset")] = None,
              status: Annotated[str | None, typer.Option(help="queued | running | succeeded | failed | interrupted")] = None,
              limit: Annotated[int, typer.Option(help="How many, newest first")] = 20) -> None:
        """Jobs with status, progress and counts."""
        table = Table("ID", _("Input"), _("Status"), _("Progress"), _("Attempts"), _("Accepted"), _("Quarantined"))
        with storage_for(ctx).uow() as uow:
            for j in service.list_jobs(uow, CLI_ACTOR, dataset_key=dataset, status=status, limit=limit):
                p = j.progress
                shown = f"{p['rows_done']:,}" + (f" / {p['rows_total']:,}" if p["rows_total"] is not None else "")
                table.add_row(str(j.id), j.input_name, _(j.status), shown, str(j.attempts), f"{j.rows_accepted:,}",
                              f"{j.rows_rejected:,}")
        console.print(table)

    @jobs.command("show")
    def show(ctx: typer.Context, job_id: int) -> None:
        """A job as JSON: status, progress, attempts, counts, cursor, error."""
        from huiju.ingest.schemas import JobOut

        with storage_for(ctx).uow() as uow:
            print(JobOut.model_validate(service.get_job(uow, CLI_ACTOR, job_id)).model_dump_json(indent=2))

    @jobs.command("log")
    def log(ctx: typer.Context, job_id: int) -> None:
        """A job's log, oldest line first."""
        with storage_for(ctx).uow() as uow:
            for line in service.job_log(uow, CLI_ACTOR, job_id):
                console.print(f"{line.at:%Y-%m-%d %H:%M:%S}Z [{line.level}] {line.localized()}", markup=False,
                              highlight=False)

    @jobs.command("rerun")
    def rerun(ctx: typer.Context, job_id: int) -> None:
        """Queue an interrupted or failed source job again; a worker runs it."""
        with storage_for(ctx).uow() as uow:
            job = service.rerun_job(uow, CLI_ACTOR, job_id)
        console.print(_("Job %(id)s queued.") % {"id": job.id})
